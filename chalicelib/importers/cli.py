"""`python -m chalicelib.runner convert SOURCE [--from FORMAT] --out DIR`: a source to YAML
testcases that `run` accepts, and the conversion report.

Exit status: 0 when something was converted, 2 when the source cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, TextIO

from chalicelib.importers.convert import FORMATS, OPTIONS

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def add_convert_command(commands: Any) -> None:
    convert = commands.add_parser(
        "convert", help="convert a Postman, HAR, OpenAPI or cURL source to testcases"
    )
    convert.add_argument("source", type=Path, metavar="SOURCE", help="the file to convert ('-' reads stdin)")
    convert.add_argument(
        "--from", dest="format", choices=FORMATS, help="the source's format (default: detected)"
    )
    convert.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder the YAML testcases go to"
    )
    convert.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="K=V",
        help="a converter option: "
        + "; ".join(f"{k} ({', '.join(f)}: {v})" for k, (f, v) in OPTIONS.items()),
    )
    convert.add_argument(
        "--environment",
        type=Path,
        metavar="FILE",
        help="a Postman environment file, for a Postman collection",
    )


def _file_name(name: str) -> str:
    return (_UNSAFE.sub("_", name).strip("._") or "testcase")[:80]


def convert_command(args: argparse.Namespace, out: TextIO) -> int:
    import sys

    import yaml

    from chalicelib.importers.common import SourceInvalid
    from chalicelib.importers.convert import convert_text

    options: dict[str, str] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"--option wants K=V, got {item!r}", file=sys.stderr)
            return 2
        options[key] = value
    try:
        text = sys.stdin.read() if str(args.source) == "-" else args.source.read_text(encoding="utf-8")
        if args.environment is not None:
            if args.format not in (None, "postman"):
                raise SourceInvalid({"environment": "applies to Postman collections"})
            text = json.dumps(
                {
                    "collection": json.loads(text),
                    "environment": json.loads(args.environment.read_text(encoding="utf-8")),
                }
            )
        conversion = convert_text(text, args.format, options)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"cannot read the source: {exc}", file=sys.stderr)
        return 2
    except SourceInvalid as exc:
        print(f"cannot convert: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for item in conversion.testcases:
        folder = args.out / _file_name(item.group) if item.group else args.out
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_file_name(item.name)}.yml"
        number = 1
        while path in written or path.exists():
            number += 1
            path = folder / f"{_file_name(item.name)}_{number}.yml"
        path.write_text(yaml.safe_dump(item.document, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(path)
    print(render_report(conversion.format, written, conversion.report.as_dict()), file=out)
    if conversion.environment:
        print(write_dot_env(args.out, conversion.environment), file=out)
    return 0 if written else 2


def write_dot_env(folder: Path, environment: dict) -> str:
    """The environment's values (`--option environment=NAME`) into the folder's `.env`, which
    `run` reads as the run's environment, as the platform reads a project environment: values
    of the same names replaced, the others kept; readable by its owner only (it holds secrets).
    Answers the line to print."""
    import os

    from chalicelib.runner.cli import read_dot_env

    path = folder / ".env"
    values = read_dot_env(path.read_text(encoding="utf-8")) if path.exists() else {}
    skipped = []
    for name, value in {**environment["variables"], **environment["secrets"]}.items():
        text = value if isinstance(value, str) else json.dumps(value)
        if "\n" in text or "\r" in text or text != text.strip():
            skipped.append(name)  # a .env line cannot hold it as it is
            continue
        values[name] = text
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    os.chmod(path, 0o600)
    line = f"environment: {len(values)} value(s) in {path} (it holds secrets: keep it out of git)"
    if skipped:
        line += f"; left out (line breaks or edge spaces a .env line cannot hold): {', '.join(skipped)}"
    return line


def render_report(format_name: str, written: list[Path], report: dict[str, list[dict[str, str]]]) -> str:
    lines = [f"{format_name}: {len(written)} testcase(s) written"]
    lines += [f"  {path}" for path in written]
    for title, key, second in (
        ("converted", "converted", "into"),
        ("warnings", "warnings", "message"),
        ("not converted", "not_converted", "why"),
    ):
        entries = report[key]
        if entries:
            lines.append(f"{title} ({len(entries)}):")
            lines += [f"  - {e['what']}: {e[second]}" for e in entries]
    return "\n".join(lines)
