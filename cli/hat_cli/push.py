"""`hat push DIR --project NAME`: make the key's project hold the folder's testcases.

Each sub-folder of DIR is a module (its name), each `.json` / `.yml` / `.yaml` file in it a
testcase, named by its `config.name` (else the file's stem). The diff comes first (`+` new,
`~` changed, `-` on the platform only); `--dry-run` stops there; nothing is deleted without
`--prune`. Exit codes: 0 done, 1 the API refused a testcase (the others are still pushed),
2 usage or auth error, 3 the platform failed. The key needs the read and write scopes.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hat_cli.client import Client, Refused, UsageError
from hat_cli.remote import key_project

SUFFIXES = (".json", ".yml", ".yaml")
MAX_FILE_BYTES = 256 * 1024  # the platform's limit on one testcase


@dataclass
class LocalModule:
    name: str
    testcases: dict[str, tuple[Path, dict]] = field(default_factory=dict)  # folded name -> (file, doc)


def _load(path: Path) -> dict:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UsageError(f"{path}: over {MAX_FILE_BYTES} bytes, the platform's limit for a testcase")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise UsageError(f"{path}: not valid JSON: {error}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise UsageError(f"{path}: YAML testcases need PyYAML (pip install 'hat-cli[yaml]')") from None
        try:
            document = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as error:
            raise UsageError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: a testcase is a mapping with config and teststeps")
    return document


def testcase_name(path: Path, document: dict) -> str:
    config = document.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return str(name).strip() if name not in (None, "") else path.stem


def read_folder(root: Path, *, err: TextIO) -> dict[str, LocalModule]:
    """Folded module name -> its testcases, from the folder's sub-folders."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    modules: dict[str, LocalModule] = {}
    for entry in sorted(root.iterdir()):
        if entry.is_file() and entry.suffix in SUFFIXES:
            print(f"hat: {entry}: not in a module folder; skipped", file=err)
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        module = modules.setdefault(entry.name.casefold(), LocalModule(entry.name))
        for path in sorted(p for p in entry.rglob("*") if p.is_file() and p.suffix in SUFFIXES):
            document = _load(path)
            name = testcase_name(path, document)
            if name.casefold() in module.testcases:
                other = module.testcases[name.casefold()][0]
                raise UsageError(f"{path} and {other} are both testcase {name!r} of module {entry.name!r}")
            module.testcases[name.casefold()] = (path, document)
    return modules


def _canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Plan:
    new_modules: list[LocalModule] = field(default_factory=list)
    create: list[tuple[str, str, Path, dict]] = field(default_factory=list)  # module key, name, file, doc
    update: list[tuple[str, str, Path, dict]] = field(default_factory=list)  # testcase id, name, file, doc
    delete: list[tuple[str, str]] = field(default_factory=list)  # testcase id, "module/name"
    delete_modules: list[tuple[str, str]] = field(default_factory=list)  # module id, name
    same: int = 0


def plan(client: Client, project: dict, local: dict[str, LocalModule]) -> tuple[Plan, dict[str, str]]:
    """What to do, and the platform's module ids by folded name."""
    remote_modules = {m["name"].casefold(): m for m in client.pages(f"/projects/{project['id']}/modules")}
    todo = Plan()
    for key, module in local.items():
        remote = remote_modules.get(key)
        if remote is None:
            todo.new_modules.append(module)
            todo.create += [(key, testcase_name(path, doc), path, doc)
                            for path, doc in module.testcases.values()]
            continue
        remote_cases = {t["name"].casefold(): t for t in client.pages(f"/modules/{remote['id']}/testcases")}
        for name_key, (path, document) in module.testcases.items():
            name = testcase_name(path, document)
            there = remote_cases.get(name_key)
            if there is None:
                todo.create.append((key, name, path, document))
            elif _canonical(client.get(f"/testcases/{there['id']}")["testcase"]) != _canonical(document) \
                    or there["name"] != name:
                todo.update.append((there["id"], name, path, document))
            else:
                todo.same += 1
        todo.delete += [(t["id"], f"{remote['name']}/{t['name']}") for k, t in remote_cases.items()
                        if k not in module.testcases]
    todo.delete_modules = [(m["id"], m["name"]) for k, m in remote_modules.items() if k not in local]
    return todo, {key: m["id"] for key, m in remote_modules.items()}


def show(todo: Plan, *, prune: bool, out: TextIO) -> None:
    for module in todo.new_modules:
        print(f"+ module {module.name}", file=out)
    for _key, name, path, _doc in todo.create:
        print(f"+ {path}  (testcase {name!r})", file=out)
    for _id, name, path, _doc in todo.update:
        print(f"~ {path}  (testcase {name!r})", file=out)
    tail = "" if prune else "  (kept: --prune deletes it)"
    for _id, label in todo.delete:
        print(f"- {label}{tail}", file=out)
    for _id, name in todo.delete_modules:
        print(f"- module {name}{tail}", file=out)


def push(client: Client, args: Any, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    project = key_project(client, args.project)
    local = read_folder(Path(args.dir), err=err)
    todo, module_ids = plan(client, project, local)
    show(todo, prune=args.prune, out=out)
    counts = (f"{len(todo.create)} to add, {len(todo.update)} to change, "
              f"{len(todo.delete)} testcases and {len(todo.delete_modules)} modules only on the platform, "
              f"{todo.same} unchanged")
    if args.dry_run:
        print(f"hat: dry run: {counts}", file=out)
        return 0
    refused = 0
    for module in todo.new_modules:
        module_ids[module.name.casefold()] = client.post(f"/projects/{project['id']}/modules",
                                                         {"name": module.name})["id"]
    for key, name, path, document in todo.create:
        refused += _send(client, "POST", f"/modules/{module_ids[key]}/testcases",
                         {"name": name, "testcase": document}, path, err)
    for testcase_id, name, path, document in todo.update:
        refused += _send(client, "PUT", f"/testcases/{testcase_id}", {"name": name, "testcase": document},
                         path, err)
    if args.prune:
        for testcase_id, _label in todo.delete:
            client.request("DELETE", f"/testcases/{testcase_id}")
        for module_id, _name in todo.delete_modules:
            client.request("DELETE", f"/modules/{module_id}")
    print(f"hat: pushed to {project['name']!r}: {counts}"
          + (f"; {refused} refused" if refused else ""), file=out)
    return 1 if refused else 0


def _send(client: Client, method: str, route: str, body: dict, path: Path, err: TextIO) -> int:
    """1 when the API refused this testcase as invalid (the file is named), else 0."""
    try:
        client.request(method, route, body)
    except Refused as refused:
        if refused.status not in (400, 409, 413):
            raise
        print(f"hat: {path}: refused: {refused}", file=err)
        return 1
    return 0
