"""``python -m chalicelib.runner run FILE...``: try testcases locally before uploading them.

Exit status: 0 when every testcase passed, 1 when any failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from chalicelib.runner.engine import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    run_testcases_sync,
)
from chalicelib.runner.errors import RunnerError, TestcaseInvalid, TestcaseNotFound
from chalicelib.runner.files import DirectoryFiles
from chalicelib.runner.functions import FunctionContext
from chalicelib.runner.report import failed_check_line, failed_checks, to_junit_xml, with_failed_cases
from chalicelib.runner.schema import parse_testcase_text, validate_testcase
from chalicelib.runner.ssrf import parse_outbound_allow

_TYPES = {".json": "application/json", ".yml": "application/yaml", ".yaml": "application/yaml"}
PROGRESS_AFTER_SECONDS = 1.0  # runs shorter than this print no progress line
PROGRESS_EVERY_SECONDS = 0.2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.runner",
        description="Run HttpRunner v3 testcases (JSON or YAML) the way hat runs them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run testcase files (or folders of them)")
    run.add_argument("paths", nargs="+", metavar="FILE", type=Path,
                     help="testcase files (.json, .yml, .yaml) or folders holding them")
    run.add_argument("--base-url", help="use this base_url instead of the testcases' own")
    run.add_argument("--var", action="append", default=[], metavar="K=V",
                     help="a variable of the run's environment: $K, ${ENV(K)}; lowest "
                          "precedence, over the project's .env file (as hrun reads it)")
    run.add_argument("--junit", type=Path, metavar="OUT.xml", help="write a JUnit XML report")
    run.add_argument("--json", type=Path, metavar="OUT.json", help="write the full JSON report")
    run.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
                     help=f"testcases run at once (default {DEFAULT_CONCURRENCY})")
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="S",
                     help=f"per-request timeout in seconds (default {DEFAULT_TIMEOUT_SECONDS:g})")
    run.add_argument("--debugtalk", type=Path, metavar="FILE",
                     help="the project's debugtalk.py (default: the nearest debugtalk.py in "
                          "the first FILE's folder or above, as HttpRunner finds it)")
    run.add_argument("--allow-private", action="store_true",
                     help="let requests reach loopback and private addresses "
                          "(by default only HAT_OUTBOUND_ALLOW opens them, as on the platform)")
    from chalicelib.importers.cli import add_convert_command

    add_convert_command(commands)
    return parser


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in _TYPES))
        else:
            found.append(path)
    return found


class _Loader:
    """Reads testcase files and the files their ``testcase:`` steps reference.

    A reference is looked up relative to the referencing file first, then to the project
    root as HttpRunner finds it (the nearest folder up holding debugtalk.py, .env or
    testcases/), then to the working directory; it is rewritten to the absolute path it was
    found at, which is then the key ``resolve`` answers for. One found nowhere fails its
    step naming every path tried.
    """

    def __init__(self, functions: frozenset[str] | None = None) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, RunnerError] = {}
        self.functions = functions  # the names debugtalk.py defines, None without one

    def load(self, path: Path) -> dict[str, Any]:
        key = str(path.resolve())
        if key in self.errors:
            raise self.errors[key]
        if key not in self.documents:
            try:
                ctype = _TYPES.get(path.suffix.lower())
                if ctype is None:
                    raise TestcaseInvalid({"": f"{path}: not a .json, .yml or .yaml file"})
                doc = parse_testcase_text(path.read_text(encoding="utf-8"), ctype)
                # the platform's save-time check, every value included: a file it would
                # refuse is refused here before anything is sent
                validate_testcase(doc, self.functions)
            except FileNotFoundError:
                self.errors[key] = TestcaseNotFound(f"no such file: {path}")
                raise self.errors[key] from None
            except OSError as exc:
                self.errors[key] = TestcaseInvalid({"": f"cannot read {path}: {exc.strerror}"})
                raise self.errors[key] from None
            except TestcaseInvalid as exc:
                self.errors[key] = exc
                raise
            self.documents[key] = doc  # before following references: cycles terminate
            for step in doc.get("teststeps") or []:
                if isinstance(step, dict) and isinstance(step.get("testcase"), str):
                    step["testcase"] = self._follow(path, step["testcase"])
        return self.documents[key]

    def _follow(self, referrer: Path, ref: str) -> str:
        places = [referrer.parent, project_root(referrer), Path.cwd()]
        candidates = list(dict.fromkeys((place / ref).resolve() for place in places))
        target = next((c for c in candidates if c.is_file()), None)
        if target is None:
            key = f"{ref} (from {referrer})"
            tried = ", ".join(str(c) for c in candidates)
            self.errors[key] = TestcaseNotFound(f"testcase {ref!r} not found; tried: {tried}")
            return key
        try:
            self.load(target)
        except RunnerError:
            pass  # reported on the step that references it, by resolve()
        return str(target)

    def reference_problem(self, key: str) -> str | None:
        """Why a loaded file cannot run whole: a testcase it references, directly or
        through others, is missing or invalid (None: every one is there and valid)."""
        seen: set[str] = set()
        pending = [key]
        while pending:
            doc = self.documents.get(pending.pop())
            for step in (doc or {}).get("teststeps") or []:
                ref = step.get("testcase") if isinstance(step, dict) else None
                if not isinstance(ref, str) or ref in seen:
                    continue
                seen.add(ref)
                if ref in self.errors:
                    return f"step {step.get('name')!r}: referenced testcase: {self.errors[ref]}"
                pending.append(ref)
        return None

    def resolve(self, ref: str) -> dict[str, Any]:
        if ref in self.errors:
            raise self.errors[ref]
        return self.documents[ref]


_PROJECT_MARKERS = ("debugtalk.py", ".env", "testcases")


def project_root(path: Path) -> Path:
    """The folder HttpRunner takes for a testcase's project: the nearest one up holding
    debugtalk.py, .env or testcases/; the testcase's own folder when none does."""
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _PROJECT_MARKERS):
            return candidate
    return folder


def read_dot_env(text: str) -> dict[str, str]:
    """HttpRunner's .env: ``KEY=VALUE`` (or ``KEY: VALUE``) lines, blanks and # comments
    skipped; the values become the run's environment, under --var."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        separator = "=" if "=" in line else ":" if ":" in line else None
        if separator is None:
            raise ValueError(f"line {number} is not KEY=VALUE")
        key, value = (part.strip() for part in line.split(separator, 1))
        if not key:
            raise ValueError(f"line {number} has no name before {separator!r}")
        values[key] = value
    return values


class _Progress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.stream.isatty() or now - self.started < PROGRESS_AFTER_SECONDS:
            return
        if now - self.last >= PROGRESS_EVERY_SECONDS or done == total:
            self.last = now
            self.shown = True
            self.stream.write(f"\r{done}/{total} testcases done")
            self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _describe_failure(step: dict[str, Any], indent: str) -> list[str]:
    lines = []
    if step.get("skipped"):
        return [f"{indent}- {step['name']}: skipped"]
    if step.get("steps"):
        lines.append(f"{indent}- {step['name']} (testcase {step.get('testcase')}):")
        for sub in step["steps"]:
            if not sub.get("success"):
                lines.extend(_describe_failure(sub, indent + "    "))
    else:
        status = step.get("status_code")
        lines.append(f"{indent}- {step['name']}" + (f" [HTTP {status}]" if status else ""))
    lines.extend(f"{indent}    {failed_check_line(check)}" for check in failed_checks(step))
    if step.get("error") and not step.get("steps"):
        lines.append(f"{indent}    error ({step.get('error_type')}): {step['error']}")
    return lines


def summary(report: dict[str, Any]) -> str:
    """The human summary the CLI prints."""
    lines = []
    for case in report["testcases"]:
        mark = "PASS" if case["success"] else "FAIL"
        lines.append(f"{mark}  {case['name']}  ({case.get('duration_ms', 0):.0f} ms)")
        if not case["success"]:
            if case.get("error"):
                lines.append(f"    error: {case['error']}")
            for step in case.get("steps") or []:
                if not step.get("success") and not step.get("skipped"):
                    lines.extend(_describe_failure(step, "    "))
    lines.append(
        f"\n{report['tests_run']} testcases: {report['successes']} passed, "
        f"{report['failures']} failed in {report['duration_ms'] / 1000:.2f} s"
    )
    return "\n".join(lines)


def _nearest_debugtalk(path: Path) -> Path | None:
    folder = path.resolve() if path.is_dir() else path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "debugtalk.py").is_file():
            return candidate / "debugtalk.py"
    return None


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "convert":
        from chalicelib.importers.cli import convert_command

        return convert_command(args, out)
    variables: dict[str, str] = {}
    for item in args.var:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--var wants K=V, got {item!r}")
        variables[key] = value
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    files = _files(args.paths)
    if not files:
        parser.error("no testcase files found")
    root = project_root(files[0])
    dot_env = root / ".env"
    if dot_env.is_file():
        try:
            variables = {**read_dot_env(dot_env.read_text(encoding="utf-8")), **variables}
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            parser.error(f"{dot_env}: {exc}")

    try:
        allow = parse_outbound_allow(os.environ.get("HAT_OUTBOUND_ALLOW"))
    except ValueError as exc:
        parser.error(f"HAT_OUTBOUND_ALLOW: {exc}")
    debugtalk = args.debugtalk or _nearest_debugtalk(args.paths[0])
    functions: dict[str, Any] = {}
    if debugtalk is not None:
        from chalicelib.runner.debugtalk import load_functions

        try:
            # the user's own code on the user's own machine, as HttpRunner runs it
            functions = load_functions(debugtalk.resolve(), call_seconds=args.timeout)
        except (OSError, RunnerError) as exc:
            parser.error(f"{debugtalk}: {exc}")
    # checked as the platform checks a save: against the names debugtalk.py defines
    loader = _Loader(frozenset(functions) if debugtalk is not None else None)
    documents: list[dict[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    for path in files:
        try:
            document = loader.load(path)
            problem = loader.reference_problem(str(path.resolve()))
            if problem:
                raise RunnerError(problem)
            documents.append(document)
        except RunnerError as exc:
            # a file that does not parse or check still counts, as a failed testcase named
            # after it, and sends nothing
            unreadable.append({"name": str(path), "success": False, "error": str(exc),
                               "duration_ms": 0.0, "steps": []})
    if debugtalk is not None:
        from chalicelib.runner.debugtalk import expand_documents

        documents, failed = expand_documents(documents, functions, variables)
        unreadable += failed
    progress = _Progress(sys.stderr)
    report = run_testcases_sync(
        documents,
        environment={"variables": variables},
        base_url=args.base_url,
        concurrency=args.concurrency,
        timeout_seconds=args.timeout,
        outbound_allow=allow,
        allow_private=args.allow_private,
        resolve_testcase=loader.resolve,
        read_file=DirectoryFiles(root),  # upload and ${P(path)}: paths from the project root
        on_progress=progress,
        function_context=FunctionContext(user_functions=functions),
    )
    with_failed_cases(report, unreadable)
    progress.clear()
    print(summary(report), file=out)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    if args.junit:
        args.junit.write_text(to_junit_xml(report), encoding="utf-8")
    return 0 if report["success"] else 1
