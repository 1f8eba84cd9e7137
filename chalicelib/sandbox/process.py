"""What runs INSIDE a project's sandbox: the runner, given the project's debugtalk.py.

Two entry points, one body (``run_payload``):
- ``main()``: the local sandbox, a fresh process per invocation (``gateway.LocalSandbox``):
  the payload on stdin, the report on stdout; whatever the user's code prints goes to stderr.
- ``handler(event, context)``: the project's Lambda function (the runner in a shared layer,
  debugtalk.py in the function's own code); the report goes back through the presigned S3
  PUT URL the worker made, since it can outgrow Lambda's response (6 MB); the function's
  role can do nothing but write its logs.

This module imports only the runner and the standard library: no settings, no AWS clients,
nothing of the platform's, because nothing of the platform's is in here to use.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEBUGTALK_FILE = "debugtalk.py"
VERSION_FILE = "debugtalk.version"  # beside debugtalk.py in a Lambda function's code


async def inline_resolver(host: str, port: int) -> list[str]:
    """getaddrinfo on the loop's own thread: the sandbox may not start threads (or
    processes), and the default resolver runs in a thread pool."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _failed_cases(docs: list[Any], error: str) -> list[dict[str, Any]]:
    cases = []
    for doc in docs:
        config = doc.get("config") if isinstance(doc, Mapping) else None
        cases.append({"name": str((config or {}).get("name") or "testcase"), "success": False,
                      "error": error, "error_type": "user_code", "duration_ms": 0.0,
                      "steps": []})
    return cases


def run_payload(payload: Mapping[str, Any], debugtalk: Path) -> dict[str, Any]:
    """Run the payload's testcases with the functions of ``debugtalk``; the report."""
    from chalicelib.runner.debugtalk import expand_documents, load_functions
    from chalicelib.runner.engine import run_testcases_sync
    from chalicelib.runner.errors import RunnerError, TestcaseNotFound
    from chalicelib.runner.functions import FunctionContext
    from chalicelib.runner.report import with_failed_cases

    docs = list(payload.get("testcases") or [])
    environment = dict(payload.get("environment") or {})
    variables = dict(environment.get("variables") or {})
    try:
        functions = load_functions(debugtalk, call_seconds=payload.get("call_seconds"))
    except RunnerError as exc:
        failed = _failed_cases(docs, str(exc))
        return {"success": False, "tests_run": len(failed), "successes": 0,
                "failures": len(failed), "duration_ms": 0.0, "testcases": failed}
    ready, failed = expand_documents(docs, functions, variables)
    references = dict(payload.get("references") or {})

    def resolve(ref: str) -> Any:
        if ref not in references:
            raise TestcaseNotFound(f"no test case {ref!r} in this project")
        expanded, problems = expand_documents([references[ref]], functions, variables)
        if problems:
            raise TestcaseNotFound(problems[0]["error"])
        return expanded[0]

    report = run_testcases_sync(
        ready,
        environment=environment,
        concurrency=int(payload.get("concurrency") or 10),
        outbound_allow=list(payload.get("outbound_allow") or []),
        resolve_testcase=resolve,
        deadline_seconds=payload.get("deadline_seconds"),
        host_resolver=inline_resolver,
        function_context=FunctionContext(user_functions=functions),
        **({"max_report_chars": payload["max_report_chars"]}
           if payload.get("max_report_chars") else {}),
    )
    return with_failed_cases(report, failed)


# Loaded before the process gives up root (see drop_privileges): the runner's own modules.
PRELOADED = (
    "chalicelib.runner.engine", "chalicelib.runner.aiohttp_transport",
    "chalicelib.runner.debugtalk", "chalicelib.runner.report", "aiohttp", "ctypes", "resource",
)
_PR_SET_DUMPABLE = 4


def _through(path: str, held: dict[str, int]) -> str:
    """``path`` reached through the descriptor of the import path entry holding it."""
    for entry, fd in held.items():
        if path == entry or path.startswith(entry + "/"):
            return f"/proc/self/fd/{fd}{path[len(entry):]}"
    return path


def drop_privileges(uid: int | None) -> None:
    """Become ``uid`` (when started as root, which RLIMIT_NPROC does not bind), then allow
    no new process or thread: fork, subprocess and threads fail from here on.

    The interpreter may live where only root may look (a pyenv under /root): the import path
    is kept open as directory descriptors taken before, so the standard library and the
    installed packages stay importable, and nothing else of root's becomes readable.
    """
    import ctypes
    import resource

    if uid is not None:
        held = {entry.rstrip("/"): os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
                for entry in sys.path if entry and os.path.isdir(entry)}
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        # setuid made /proc/self root's; the process may read its own descriptors again
        ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
        sys.path[:] = [_through(entry, held) for entry in held]
        for module in list(sys.modules.values()):  # packages loaded already: their submodules
            path = getattr(module, "__path__", None)
            if isinstance(path, list):
                path[:] = [_through(entry, held) for entry in path]
        sys.path_importer_cache.clear()
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def main(uid: str = "-") -> int:
    """The local sandbox's process: payload on stdin, report on stdout.

    It loads the runner before it reads the payload, so the gateway can start it ahead of
    the run it will serve (one run only); no payload (stdin closed) ends it unused.
    """
    import importlib

    report_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the user's prints must not mix with the report
    for name in PRELOADED:
        importlib.import_module(name)
    text = sys.stdin.read()
    if not text:
        return 0
    payload = json.loads(text)
    drop_privileges(None if uid == "-" else int(uid))
    report = run_payload(payload, Path.cwd() / DEBUGTALK_FILE)
    report_out.write(json.dumps(report, default=str))
    report_out.flush()
    # the report is out and nothing else is owed: skip the interpreter's teardown (tens of
    # milliseconds with the runner loaded) and whatever the user's code left for it to run
    os._exit(0)


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The project's Lambda function: runs, then PUTs the report to ``report_url``."""
    import urllib.request

    if "payload_url" in event:  # too big for Invoke: the worker parked it in S3
        with urllib.request.urlopen(str(event["payload_url"]), timeout=30) as parked:  # noqa: S310
            event = json.loads(parked.read())
    root = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path.cwd())
    report = run_payload(event, root / DEBUGTALK_FILE)
    version_file = root / VERSION_FILE
    if version_file.is_file():
        report["debugtalk_version"] = int(version_file.read_text().strip() or 0)
    body = json.dumps(report, default=str).encode()
    put = urllib.request.Request(  # noqa: S310 - the worker's presigned https URL
        str(event["report_url"]), data=body, method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(put, timeout=30) as answer:  # noqa: S310
        answer.read()
    return {"ok": True, "bytes": len(body)}


