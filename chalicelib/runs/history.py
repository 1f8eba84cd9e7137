"""History (issue 20, item 6): per test case and per task, the last 50 outcomes with duration,
"failing since" and a flaky flag, kept by writes when a report finishes, never by reading
reports.

One `run-settings` item per stream (`history#task#<id>`, `history#testcase#<id>`) holds the
entries newest first; a finished report prepends to each of its streams under a version
check (two reports finishing together retry, neither is lost), once per report (`run_once`
in the caller, and an entry whose report is already there is not added again). A test case's
entries carry its version (`updated_at` when it ran, to the microsecond), so "flaky" means
both outcomes among the last 10 runs of the same version: a fix in between is a change, not
flakiness.

Test case outcomes come from the report's detail, where the worker tags each result with its
test case's id and version; a run whose results do not line up one to one with its test cases
(parameterised cases expand into several) adds no test case entries, only the task's.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.core.auth import User
from chalicelib.core.clock import isoformat
from chalicelib.core.db import condition_failed, get_many
from chalicelib.core.ids import precise
from chalicelib.runs.models import DEGRADED, ERROR, FAILED, PASSED, PASSING, Report, RunSetting

logger = logging.getLogger("hat.runs.history")

HISTORY_SIZE = 50
FLAKY_WINDOW = 10
WRITE_TRIES = 5


def _case_status(case: dict) -> str:
    if not case.get("success"):
        return FAILED
    return DEGRADED if case.get("degraded") else PASSED


def history_key(kind: str, item_id: str) -> str:
    return f"history#{kind}#{item_id}"


def tag_results(result: Mapping, testcases: list[Any]) -> None:
    """Mark each test case result with the stored test case it came from (when they line up)."""
    cases = result.get("testcases") or []
    if len(cases) != len(testcases):
        return
    for case, testcase in zip(cases, testcases, strict=True):
        case["testcase_id"] = testcase.id
        # to the microsecond: a fix saved in the same second as the version it replaces is
        # still another version
        case["testcase_version"] = precise(testcase.updated_at)


def _case_duration(case: Mapping) -> int:
    return int(sum(float(step.get("elapsed_ms") or 0) for step in case.get("steps") or []))


def entries_of(report: Report, detail: Mapping | None) -> dict[str, dict]:
    """The entry each stream of this report gets: {history key: entry}."""
    finished = isoformat(report.finished_at) if report.finished_at else None
    out: dict[str, dict] = {}
    if report.task_id:
        out[history_key("task", report.task_id)] = {
            "report_id": report.id, "status": report.status, "duration_ms": int(report.duration_ms or 0),
            "finished_at": finished}
    for case in (detail or {}).get("testcases") or []:
        if case.get("testcase_id"):
            out[history_key("testcase", case["testcase_id"])] = {
                "report_id": report.id, "status": _case_status(case),
                "duration_ms": _case_duration(case), "finished_at": finished,
                "version": case.get("testcase_version")}
    return out


def record(report: Report, detail: Mapping | None) -> int:
    """Prepend this report's entries to its streams; returns how many streams moved on."""
    from pynamodb.exceptions import PutError

    pending = entries_of(report, detail)
    moved = 0
    for _attempt in range(WRITE_TRIES):
        if not pending:
            break
        keys = sorted(pending)
        current = dict(zip(keys, get_many([(RunSetting, key) for key in keys]), strict=True))
        retry = {}
        for key in keys:
            item, entry = current[key], pending[key]
            entries = list(item.entries or []) if item is not None else []
            if any(e.get("report_id") == report.id for e in entries):
                continue
            version = int(item.history_version or 0) if item is not None else 0
            since = None
            if entry["status"] in (FAILED, ERROR):  # a streak goes on, or starts now
                since = (item.failing_since if item is not None else None) or entry["finished_at"]
            fresh = RunSetting(key, entries=[entry, *entries][:HISTORY_SIZE], failing_since=since,
                               history_version=version + 1)
            condition = RunSetting.history_version == version if item is not None \
                else RunSetting.key.does_not_exist()
            try:
                fresh.save(condition=condition)
                moved += 1
            except PutError as error:
                if not condition_failed(error):
                    raise
                retry[key] = entry  # another report finished meanwhile: read again
        pending = retry
    if pending:
        logger.warning("report %s: history of %d streams kept changing; left out", report.id, len(pending))
    return moved


def is_flaky(entries: Iterable[Mapping]) -> bool:
    """Both outcomes among the last FLAKY_WINDOW entries of the newest entry's version."""
    entries = list(entries)
    if not entries:
        return False
    version = entries[0].get("version")
    window = [e for e in entries if e.get("version") == version][:FLAKY_WINDOW]
    statuses = {e.get("status") in PASSING for e in window}
    return statuses == {True, False}


def view(item: RunSetting | None) -> dict:
    entries = list(item.entries or []) if item is not None else []
    return {"items": [{name: e.get(name) for name in ("report_id", "status", "duration_ms", "finished_at")}
                      for e in entries],
            "flaky": is_flaky(entries), "failing_since": item.failing_since if item is not None else None}


def stream_view(kind: str, subject_id: str) -> dict:
    """The stored stream of one subject ("task" or "testcase"), as the history routes answer it:
    one GetItem. The caller checks access first (schedules/service.py `task_history`)."""
    from chalicelib.core.db import get_or_none

    return view(get_or_none(RunSetting, history_key(kind, subject_id), consistent_read=True))


def streams_view(kind: str, subject_ids: list[str]) -> dict[str, dict]:
    """The streams of many subjects at once (a list page's sparklines): one BatchGetItem per
    100. The caller has checked access to every subject."""
    found = get_many([(RunSetting, history_key(kind, subject_id)) for subject_id in subject_ids])
    return {subject_id: view(item) for subject_id, item in zip(subject_ids, found, strict=True)}


def testcase_history(user: User, testcase_id: str) -> dict:
    """GET /testcases/{id}/history: GetItem + BatchGetItem (access, as GET /testcases/{id}),
    GetItem (the history)."""
    from chalicelib.catalog.access import load_testcase

    testcase = load_testcase(user, testcase_id)
    return stream_view("testcase", testcase.id)
