"""`hat`: hat from a pipeline.

    hat run --project NAME|ID [--module M ...] [--env NAME] [--wait] [--timeout S]
            [--junit OUT.xml] [--json OUT.json]
    hat push DIR --project NAME [--dry-run] [--prune]
    hat local FILE... [options]     the runner's local run (python -m chalicelib.runner run)
    hat convert ...                 the runner's converters, where installed

The API is `HAT_URL` (or --url), the key `HAT_API_KEY` (or --key; prefer the variable: a
flag shows in process lists). Exit codes: 0 passed, 1 failed, 2 usage or auth error,
3 timed out or the platform failed.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from hat_cli.client import Client, CliError

USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hat", description="hat from a pipeline: run a project's "
                                     "tests and wait, push testcases from a folder.")
    parser.add_argument("--url", default=os.environ.get("HAT_URL", ""), help="the API (default $HAT_URL)")
    parser.add_argument("--key", default=os.environ.get("HAT_API_KEY", ""),
                        help="an API key (default $HAT_API_KEY)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start a run of the project (and wait for it)")
    run.add_argument("--project", required=True, help="the key's project, by name or id")
    run.add_argument("--module", action="append", default=[],
                     help="only this module (name or id); repeatable")
    run.add_argument("--env", help="the project's environment to run in (default: its default)")
    run.add_argument("--wait", action="store_true", help="wait for the report; exit by its outcome")
    run.add_argument("--timeout", type=float, default=600.0, metavar="S", help="give up waiting after S "
                     "seconds (exit 3; default 600)")
    run.add_argument("--junit", metavar="OUT.xml", help="write the report as JUnit XML (with --wait)")
    run.add_argument("--json", metavar="OUT.json", help="write the report as JSON (with --wait)")

    push = commands.add_parser("push", help="sync a folder of testcases (sub-folders = modules)")
    push.add_argument("dir", metavar="DIR")
    push.add_argument("--project", required=True, help="the key's project, by name or id")
    push.add_argument("--dry-run", action="store_true", help="show the diff only")
    push.add_argument("--prune", action="store_true", help="also delete what the folder no longer has")

    local = commands.add_parser("local", add_help=False, help="run testcase files here, with the runner")
    local.add_argument("rest", nargs=argparse.REMAINDER)
    convert = commands.add_parser("convert", add_help=False, help="convert Postman/HAR/OpenAPI/curl")
    convert.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _runner_cli():
    """The runner's own CLI (chalicelib.runner.cli), importable where the hat repository is."""
    try:
        return importlib.import_module("chalicelib.runner.cli")
    except ImportError:
        return None


def _commands(runner) -> set[str]:
    """The sub-commands the runner's CLI has (`run`; `convert` once the converters land)."""
    found: set[str] = set()
    for action in runner._parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            found |= set(action.choices)
    return found


def delegate(command: str, rest: list[str]) -> int:
    """`hat local` and `hat convert`: the runner's `run` and `convert`, as they are."""
    runner = _runner_cli()
    if runner is None:
        print(f"hat {command}: needs hat's runner (chalicelib.runner), which is not importable here: "
              "run it from a checkout of the hat repository (PYTHONPATH=<repo>)", file=sys.stderr)
        return USAGE
    target = "run" if command == "local" else "convert"
    if target not in _commands(runner):
        print(f"hat {command}: this checkout's runner has no '{target}' command yet "
              f"(python -m chalicelib.runner {target}); update the hat checkout", file=sys.stderr)
        return USAGE
    try:
        return runner.main([target, *rest])
    except SystemExit as exit_:  # argparse's own exits (--help, usage errors)
        return exit_.code if isinstance(exit_.code, int) else USAGE


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("local", "convert"):
        return delegate(args.command, args.rest)
    try:
        client = Client(args.url, args.key)
        if args.command == "run":
            from hat_cli.remote import run

            if (args.junit or args.json) and not args.wait:
                raise CliError("--junit and --json need --wait")
            return run(client, args)
        from hat_cli.push import push

        return push(client, args)
    except CliError as error:
        print(f"hat: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
