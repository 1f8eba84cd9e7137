"""`hat run`: start a run of the key's project, wait for it, print the summary, write JUnit.

Exit codes: 0 passed (or queued, without --wait), 1 failed, 2 usage or auth error, 3 timed out
or the platform failed (the report ended in `error`).
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from hat_cli.client import Client, PlatformError, UsageError

PASSED, FAILED = 0, 1
FINAL = ("passed", "failed", "error")
POLL_FIRST_SECONDS = 1.0
POLL_MAX_SECONDS = 5.0


def key_project(client: Client, wanted: str | None) -> dict:
    """The key's project ({"id", "name"}), checked against --project (a name or an id)."""
    current = client.get("/keys/current")
    project = current["project"]
    if wanted and wanted not in (project["id"],) and wanted.casefold() != project["name"].casefold():
        raise UsageError(f"this key belongs to project {project['name']!r} ({project['id']}), "
                         f"not {wanted!r}")
    return project


def module_ids(client: Client, project: dict, wanted: list[str]) -> list[str]:
    """--module values (names or ids) as ids of the project's modules."""
    modules = client.pages(f"/projects/{project['id']}/modules")
    by_key = {m["id"]: m["id"] for m in modules}
    by_key.update({m["name"].casefold(): m["id"] for m in modules})
    unknown = [name for name in wanted if name not in by_key and name.casefold() not in by_key]
    if unknown:
        known = ", ".join(sorted(m["name"] for m in modules)) or "none"
        raise UsageError(f"no module {', '.join(map(repr, unknown))} in {project['name']!r} (known: {known})")
    return list(dict.fromkeys(by_key.get(name, by_key.get(name.casefold())) for name in wanted))


def report_link(url: str, report_id: str) -> str:
    return f"{url.rstrip('/')}/ui/#/reports/{report_id}"


def summary(report: dict) -> str:
    seconds = (report.get("duration_ms") or 0) / 1000
    line = (f"hat: {report['status']}: {report.get('successes', 0)}/{report.get('tests_run', 0)} testcases "
            f"passed, {report.get('failures', 0)} failed in {seconds:.1f} s")
    lines = [line]
    if report.get("error"):
        lines.append(f"  error: {report['error']}")
    for testcase in report.get("testcases") or []:
        if testcase.get("success"):
            continue
        steps = [s for s in testcase.get("steps") or [] if not s.get("success")]
        why = testcase.get("error") or (steps[0].get("error") if steps else None) or \
            (f"step {steps[0].get('name')!r} failed" if steps else "failed")
        lines.append(f"  FAIL {testcase.get('name')}: {why}")
    return "\n".join(lines)


def wait_for(client: Client, report_id: str, timeout: float, *, err: TextIO,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll the report until it is final; PlatformError after `timeout` seconds."""
    started = clock()
    delay, shown = POLL_FIRST_SECONDS, None
    while True:
        report = client.get(f"/reports/{report_id}")
        if report["status"] in FINAL:
            return report
        chunks = report.get("chunks")
        state = report["status"] + (f" ({chunks['done']}/{chunks['total']} chunks)" if chunks else "")
        if state != shown:
            print(f"hat: report {report_id}: {state}", file=err)
            shown = state
        if clock() - started + delay > timeout:
            raise PlatformError(f"timed out after {timeout:g} s; the report {report_id} is still "
                                f"{report['status']}")
        sleep(delay)
        delay = min(delay * 1.5, POLL_MAX_SECONDS)


def run(client: Client, args: Any, *, out: TextIO | None = None, err: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    project = key_project(client, args.project)
    body: dict = {}
    if args.env:
        body["environment"] = args.env
    if args.module:
        body["module_ids"] = module_ids(client, project, args.module)
    queued = client.post(f"/projects/{project['id']}/runs", body)
    report_id = queued["report_id"]
    print(f"hat: queued a run of {project['name']!r}: report {report_id}", file=err)
    if not args.wait:
        print(report_link(client.url, report_id), file=out)
        return PASSED
    report = wait_for(client, report_id, args.timeout, err=err, sleep=sleep)
    print(summary(report), file=out)
    print(f"report: {report_link(client.url, report_id)}", file=out)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.junit:
        Path(args.junit).write_bytes(client.get(f"/reports/{report_id}/junit", raw=True))
    if report["status"] == "error":
        raise PlatformError(f"the run could not complete: {report.get('error') or 'unknown error'}")
    return PASSED if report["status"] == "passed" else FAILED
