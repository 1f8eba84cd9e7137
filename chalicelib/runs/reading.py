"""Reading runs: a report (summary and S3 detail), a project's reports, JUnit, the dashboard's
12 local days, and the debug route's inline run of an unsaved test case (nothing stored).
DynamoDB calls per route (the auth GetItem on top) are noted on each function."""
from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.catalog.access import (
    is_member,
    live_project,
    load_project,
    project_ids_of,
    testcase_resolver,
    visible_to,
)
from chalicelib.catalog.models import Project
from chalicelib.core.auth import User
from chalicelib.core.clock import MAX_TIMEZONE_CHARS, Clock, isoformat
from chalicelib.core.db import checked_start_key, get_many, get_or_none, query_page, string_key
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.core.ids import checked_id, is_id
from chalicelib.core.pagination import page
from chalicelib.core.settings import get_settings, outbound_allow
from chalicelib.files.service import run_file_reader
from chalicelib.runs import store
from chalicelib.runs.execution import (
    Runner,
    choose_environment,
    counts,
    secret_run,
    verdict,
)
from chalicelib.runs.models import (
    FINAL,
    PERIOD_QUARTERS,
    QUARTER_SECONDS,
    Report,
)

if TYPE_CHECKING:
    from chalicelib.runs import schemas

DASHBOARD_DAYS = 12


def not_found(what: str = "report") -> NotFound:
    return NotFound(f"{what} not found", code=f"{what}_not_found")


def report_view(report: Report) -> dict:
    view = {
        "id": report.id,
        "project_id": report.project_id,
        "name": report.name or "",
        "status": report.status,
        "trigger": report.trigger,
        "task_id": report.task_id,
        "started_by": report.started_by,  # the user who started a manual run, else null
        "environment": report.environment,
        "tests_run": int(report.tests_run or 0),
        "successes": int(report.successes or 0),
        "failures": int(report.failures or 0),
        "created_at": isoformat(report.created_at),
        "started_at": isoformat(report.started_at) if report.started_at else None,
        "finished_at": isoformat(report.finished_at) if report.finished_at else None,
        "duration_ms": int(report.duration_ms) if report.duration_ms is not None else None,
    }
    if report.error:
        view["error"] = report.error
    if report.timings:
        view["timings"] = report.timings
    if report.notifications:
        view["notifications"] = _notifications_view(report.notifications)
    if report.alerts:
        view["alerts"] = [{"alert_id": alert_id, **dict(outcome)}
                          for alert_id, outcome in sorted(report.alerts.as_dict().items())]
    if report.origin:
        view["origin"] = report.origin
    if report.chunk_count:
        view["chunks"] = {"total": int(report.chunk_count), "done": len(report.chunks_done or ())}
    if report.retries:
        view["retries"] = report.retries
    if report.attempts:
        view["attempts"] = report.attempts
    if report.import_sync is not None:
        view["import_sync"] = report.import_sync
    return view


def _notifications_view(outcomes: list[dict]) -> list[dict]:
    """Each named recipient's outcome, with the reason spelled out where nothing was sent."""
    from chalicelib.notify.recipients import outcome_reason

    return [{**o, **({"reason": outcome_reason(o["outcome"])} if o["outcome"] != "queued" else {})}
            for o in outcomes]


def _load_report(user: User, report_id: str) -> Report:
    """GetItem (report), GetItem (its project, for access)."""
    report = get_or_none(Report, checked_id(report_id, "report"), consistent_read=True)
    if report is None:
        raise not_found()
    if not visible_to(live_project(report.project_id), user):
        raise not_found()
    return report


def list_reports(user: User, project_id: str, limit: int, start: dict | None) -> dict:
    """GetItem (project), one Query on the by-project index, newest first."""
    project = load_project(user, project_id)
    start = checked_start_key(start, names=("id", "project_id", "sort_key"),
                              partition={"project_id": project.id})
    reports, next_key = query_page(
        lambda **kw: Report.by_project.query(project.id, scan_index_forward=False, **kw),
        Report, limit=limit, start_key=start,
        key_of=lambda r: string_key(id=r.id, project_id=r.project_id, sort_key=r.sort_key))
    return page([report_view(r) for r in reports], next_key)


def get_report(user: User, report_id: str) -> dict:
    """Two GetItems, and the detail from S3 once the report is finished."""
    report = _load_report(user, report_id)
    view = report_view(report)
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail else None
    view["testcases"] = (detail or {}).get("testcases", [])
    if detail and "debugtalk_version" in detail:  # the project's debugtalk.py it ran with
        view["debugtalk_version"] = detail["debugtalk_version"]
    if report.has_detail and detail is None:
        view["detail_expired"] = True
    return view


def get_report_summary(report_id: str) -> dict | None:
    """For tasks: a report's summary (no detail), or None. One GetItem."""
    if not is_id(report_id):
        return None
    report = get_or_none(Report, report_id, consistent_read=True)
    return report_view(report) if report is not None else None


def report_junit(user: User, report_id: str) -> str:
    """Two GetItems and the S3 detail."""
    from chalicelib.runner.report import to_junit_xml

    report = _load_report(user, report_id)
    if report.status not in FINAL:
        raise Conflict("the report is not finished yet", code="report_not_finished")
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail else None
    if detail is None:
        detail = {"tests_run": 0, "successes": 0, "failures": 0, "duration_ms": report.duration_ms or 0,
                  "testcases": []}
    return to_junit_xml(detail)


# the report is the HTTP answer: well inside what a Lambda may return (6 MB)
DEBUG_MAX_REPORT_CHARS = 2_000_000


def debug_run(user: User, body: schemas.DebugBody, *, runner: Runner) -> dict:
    """POST /testcases/debug: GetItem (project); the run inline, bounded; nothing stored
    (a `testcase:` reference costs a read or two more)."""
    from chalicelib.catalog.access import checked_document
    from chalicelib.sandbox.service import project_functions, run_with_sandbox

    project = load_project(user, body.project_id)
    env_name, environment = choose_environment(project, body.environment)
    document, _size, _steps = checked_document(body.testcase, prefix="testcase",
                                               functions_of=lambda: project_functions(project.id))
    settings = get_settings()
    result = secret_run(project, env_name, environment, lambda clear: run_with_sandbox(
        project.id, [document], runner, environment=clear, concurrency=settings.run_concurrency,
        outbound_allow=outbound_allow(), resolve_testcase=testcase_resolver(project.id),
        read_file=run_file_reader(project.id), deadline_seconds=min(25, settings.debug_deadline_seconds),
        max_report_chars=DEBUG_MAX_REPORT_CHARS))
    tests_run, successes, _failures = counts(result)
    status = verdict(tests_run, successes, int(result.get("degraded") or 0))
    return {**result, "status": status, "trigger": "debug", "project_id": project.id}


def _zone(name: str | None) -> ZoneInfo:
    # The length first: ZoneInfo looks the name up as a file (OSError past the OS's name limit).
    if name and len(name) > MAX_TIMEZONE_CHARS:
        raise ValidationFailed({"tz": f"a time zone name is at most {MAX_TIMEZONE_CHARS} characters"})
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationFailed({"tz": f"unknown time zone {name!r}"}) from None


def day_bounds(today: datetime, zone: ZoneInfo, days: int = DASHBOARD_DAYS) -> list[tuple[str, int]]:
    """[(date, first quarter of the day)] for `days` local days ending today, then the end
    quarter: day i is the half-open [start_i, start_{i+1})."""
    local_today = today.astimezone(zone).date()
    out = []
    for offset in range(days, -1, -1):
        day = local_today - timedelta(days=offset - 1)
        start = datetime.combine(day, time(0), tzinfo=zone)
        out.append((day.isoformat(), int(start.timestamp()) // QUARTER_SECONDS))
    return out  # days + 1 entries: the last is tomorrow's start


def dashboard(user: User, tz: str | None = None, *, clock: Clock) -> dict:
    """Query (memberships), BatchGetItem (projects), BatchGetItem (counters: 2 items per project);
    the same whatever the number of reports. Up to 50 projects keep it at these 3 calls."""
    zone = _zone(tz or user.get("timezone"))
    ids = project_ids_of(user["id"])
    projects = [p for p in get_many([(Project, pid) for pid in ids]) if is_member(p, user["id"])]
    bounds = day_bounds(clock(), zone)
    starts = [q for _, q in bounds]
    first, end = starts[0], starts[-1]
    periods = sorted({first // PERIOD_QUARTERS, (end - 1) // PERIOD_QUARTERS})
    totals = [[0, 0, 0] for _ in range(DASHBOARD_DAYS)]  # [tests run, successes, degraded of them]
    if projects:
        for item in store.read_stats([(p.id, n) for p in projects for n in periods]):
            for name, value in item.items():
                kind = name[0]
                if kind not in "tsd" or not name[1:].isdigit():
                    continue
                q = int(name[1:])
                if not first <= q < end:
                    continue
                index = bisect_right(starts, q) - 1
                totals[index]["tsd".index(kind)] += int(value["N"])
    days = []
    for (date, _q), (tests_run, successes, degraded) in zip(bounds, totals, strict=False):
        day = {"date": date, "pass": successes, "fail": tests_run - successes,
               "percent": round(100.0 * successes / tests_run, 2) if tests_run else 0.0}
        if degraded:  # only then: the older shape stays as it was
            day["degraded"] = degraded
        days.append(day)
    return {"projects": len(projects), "modules": sum(int(p.module_count or 0) for p in projects),
            "testcases": sum(int(p.testcase_count or 0) for p in projects), "timezone": zone.key,
            "days": days}
