"""Runs: start a run (a `queued` report and a job), the worker, reports, dashboard, webhooks.

Lifecycle of a report: `queued` (route or task) -> `running` (worker, conditional) ->
`passed` | `failed` | `error` (one TransactWriteItems with the day's counters, conditional on
`running`, so it happens once whatever the redeliveries; store.finish). Every job effect
runs under `core.jobs.run_once`; notifications and callbacks use deterministic job ids,
so the email/sms workers' own run_once makes a duplicate enqueue harmless.

DynamoDB calls per route (the auth GetItem on top) are noted on each function.
"""
from __future__ import annotations

import json
import logging
import math
import secrets
import uuid
from bisect import bisect_right
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.catalog.models import ACTIVE, Membership, Module, Project, StoredTestcase
from chalicelib.catalog.service import load_module, load_project, visible_to
from chalicelib.catalog.store import checked_start_key, query_page, string_key
from chalicelib.core.clock import MAX_TIMEZONE_CHARS, Clock, isoformat, utcnow
from chalicelib.core.db import cancelled_by_condition, condition_failed, get_many, get_or_none
from chalicelib.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from chalicelib.core.ids import checked_id, is_id, precise
from chalicelib.core.jobs import enqueue, run_once
from chalicelib.core.pagination import page
from chalicelib.core.settings import get_settings, outbound_allow
from chalicelib.files.service import run_file_reader
from chalicelib.runs import history, retries, store
from chalicelib.runs.models import (
    DEGRADED,
    ERROR,
    FAILED,
    FINAL,
    PASSED,
    PASSING,
    PERIOD_QUARTERS,
    QUARTER_SECONDS,
    QUEUED,
    RUNNING,
    Report,
    RunSetting,
)

logger = logging.getLogger("hat.runs")

TRIGGERS = ("manual", "schedule", "webhook")
NOTIFY_WHEN = ("never", "failure", "always")
DASHBOARD_DAYS = 12
Runner = Callable[..., dict]
# Seconds the current Lambda invocation has left for running test cases (set by the worker
# from its context, so a function timeout below HAT_RUN_DEADLINE_SECONDS cannot cut a run).
RUN_BUDGET_SECONDS: ContextVar[float | None] = ContextVar("hat_run_budget", default=None)
RUN_BUDGET_MARGIN_SECONDS = 30  # writing the detail, the finish, the follow-ups


# --- helpers ---------------------------------------------------------------------------------------

def _not_found(what: str = "report") -> NotFound:
    return NotFound(f"{what} not found", code=f"{what}_not_found")


def _visible(project: Project | None, user_id: str) -> bool:
    return project is not None and project.status == ACTIVE and user_id in (project.member_ids or set())


def choose_environment(project: Project, name: str | None) -> tuple[str | None, dict]:
    """(name, {"base_url", "variables"}) of the run's environment. No name: "default", or the
    only one; none at all is an empty environment. An unknown name is a 400."""
    environments = project.environments or {}
    if name is None:
        if "default" in environments:
            name = "default"
        elif len(environments) == 1:
            name = next(iter(environments))
        else:
            return None, {}
    if name not in environments:
        known = ", ".join(sorted(environments)) or "none"
        raise ValidationFailed({"environment": f"no environment {name!r} in this project (known: {known})"})
    return name, dict(environments[name] or {})


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
    return view


def _notifications_view(outcomes: list[dict]) -> list[dict]:
    """Each named recipient's outcome, with the reason spelled out where nothing was sent."""
    from chalicelib.notify.recipients import outcome_reason

    return [{**o, **({"reason": outcome_reason(o["outcome"])} if o["outcome"] != "queued" else {})}
            for o in outcomes]


# --- starting runs ---------------------------------------------------------------------------------

def _new_report(project: Project, *, trigger: str, name: str, environment: str | None,
                module_ids: list[str] | None, testcase_ids: list[str] | None, task_id: str | None,
                notify: dict | None, callback_url: str | None, started_by: str | None,
                clock: Clock, origin: dict | None = None, retries_policy: dict | None = None) -> Report:
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    now, report_id = clock(), uuid.uuid4().hex
    return Report(
        report_id, project_id=project.id, sort_key=f"{precise(now)}#{report_id}", status=QUEUED,
        trigger=trigger, task_id=task_id, started_by=started_by, name=name, environment=environment,
        module_ids=list(module_ids) if module_ids else None,
        testcase_ids=list(testcase_ids) if testcase_ids else None,
        notify=notify or None, callback_url=callback_url or None, origin=origin, created_at=now,
        tests_run=0, successes=0, failures=0, active=QUEUED, active_since=precise(now),
        retries=retries_policy if retries.enabled(retries_policy) else None)


def _enqueue_run(report_id: str) -> None:
    enqueue("runs", {"kind": "run", "report_id": report_id, "job_id": f"run-{report_id}"})


def _with_project_defaults(project: Project, fields: dict) -> dict:
    """A run that names no recipients (or no callback) of its own takes the project's."""
    notify = fields.get("notify") or {}
    if not (notify.get("emails") or notify.get("mobiles")) and project.notify:
        fields["notify"] = project.notify
    fields["callback_url"] = fields.get("callback_url") or project.callback_url
    return fields


# With a report's id: (item, update actions, condition) to write in the report's transaction.
AlsoUpdate = Callable[[str], tuple[Any, list, Any]]


def _queued(project: Project, *, environment: str | None, also_update: AlsoUpdate | None = None,
            **fields: Any) -> dict:
    env_name, _env = choose_environment(project, environment)
    own_notify = fields.get("notify") if fields.get("task_id") is None else None
    report = _new_report(project, environment=env_name, **_with_project_defaults(project, fields))
    if also_update is None:
        report.save(condition=Report.id.does_not_exist())
    else:
        _save_with(report, also_update(report.id))
    _enqueue_run(report.id)
    _ask_recipients(project, own_notify, report.started_by)
    return {"report_id": report.id, "status": QUEUED}


def _ask_recipients(project: Project, notify: dict | None, started_by: str | None) -> None:
    """A run's own recipients (not its task's or project's, asked when those were set): the
    outside addresses among them are asked to confirm (a job; no DynamoDB call here)."""
    from chalicelib.notify.recipients import request_confirmations

    request_confirmations(project.id, notify, started_by)


def _save_with(report: Report, update: tuple[Any, list, Any]) -> None:
    """The report and the caller's update commit together (one TransactWriteItems); a failed
    condition on the caller's item is a NotFound of it, and no report is written."""
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.core.db import transaction

    item, actions, condition = update
    try:
        with transaction() as tx:
            tx.save(report, condition=Report.id.does_not_exist())
            tx.update(item, actions=actions, condition=condition)
    except TransactWriteError as error:
        if cancelled_by_condition(error):
            raise NotFound(f"{type(item).__name__.lower()} not found", code="not_found") from None
        raise


def start_run(project: str | Project, *, module_ids: list[str] | None, testcase_ids: list[str] | None = None,
              environment: str | None, trigger: str, task_id: str | None = None,
              notify: dict | None = None, callback_url: str | None = None,
              started_by: str | None = None, name: str | None = None,
              also_update: AlsoUpdate | None = None, retries_policy: dict | None = None,
              clock: Clock = utcnow) -> dict:
    """For tasks and other features: queue a run of a project (or some modules / test cases).
    `project` is its id, or the Project the caller has just read (saves the GetItem);
    `also_update(report_id)` names an update that commits with the report (a task's run
    count), so that both happen or neither. GetItem (project, given an id), PutItem (report;
    TransactWriteItems with `also_update`), and the job. Raises NotFound for a project (or
    the updated item) that is gone, ValidationFailed for an unknown environment.
    `retries_policy`: the run's retry policy (schemas.Retries as a dict; runs/retries.py)."""
    if isinstance(project, str):
        project = get_or_none(Project, checked_id(project, "project"), consistent_read=True)
    if project is None or project.status != ACTIVE:
        raise _not_found("project")
    return _queued(project, environment=environment, trigger=trigger, name=name or project.name,
                   module_ids=module_ids, testcase_ids=testcase_ids, task_id=task_id, notify=notify,
                   callback_url=callback_url, started_by=started_by, also_update=also_update,
                   retries_policy=retries_policy, clock=clock)


def run_project(user: dict, project_id: str, body: Any, *, clock: Clock = utcnow) -> dict:
    """GetItem (project), PutItem (report). `body.module_ids`: only those modules (the worker
    reads the project's own modules, so an id of another project's runs nothing)."""
    project = load_project(user, project_id)
    return _queued(project, environment=body.environment, trigger="manual", name=project.name,
                   module_ids=getattr(body, "module_ids", None), testcase_ids=None, task_id=None,
                   notify=_notify(body), callback_url=body.callback_url, started_by=user["id"],
                   retries_policy=_retries(body), clock=clock)


def run_module(user: dict, module_id: str, body: Any, *, clock: Clock = utcnow) -> dict:
    """Two GetItems (module, project), PutItem (report)."""
    module, project = load_module(user, module_id)
    return _queued(project, environment=body.environment, trigger="manual", name=module.name,
                   module_ids=[module.id], testcase_ids=None, task_id=None, notify=_notify(body),
                   callback_url=body.callback_url, started_by=user["id"], retries_policy=_retries(body),
                   clock=clock)


def run_testcase(user: dict, testcase_id: str, body: Any, *, clock: Clock = utcnow) -> dict:
    """GetItem (test case), BatchGetItem (its module and project), PutItem (report)."""
    testcase = get_or_none(StoredTestcase, checked_id(testcase_id, "testcase"), consistent_read=True)
    if testcase is None:
        raise _not_found("testcase")
    module, project = get_many([(Module, testcase.module_id), (Project, testcase.project_id)])
    if module is None or module.status != ACTIVE or not visible_to(project, user):
        raise _not_found("testcase")
    return _queued(project, environment=body.environment, trigger="manual", name=testcase.name,
                   module_ids=None, testcase_ids=[testcase.id], task_id=None, notify=_notify(body),
                   callback_url=body.callback_url, started_by=user["id"], retries_policy=_retries(body),
                   clock=clock)


def _notify(body: Any) -> dict | None:
    notify = getattr(body, "notify", None)
    return notify.model_dump() if notify is not None else None


def _retries(body: Any) -> dict | None:
    policy = getattr(body, "retries", None)
    return policy.model_dump() if policy is not None else None


# --- the worker ------------------------------------------------------------------------------------

def _default_runner(documents: list, **options: Any) -> dict:
    from chalicelib.runner.engine import run_testcases_sync

    return run_testcases_sync(documents, **options)


def _resolver(project_id: str) -> Callable[[str], Mapping]:
    """`testcase: <ref>` steps: a test case of the same project, by id or by name."""
    from chalicelib.runner.errors import TestcaseNotFound

    by_name: dict[str, str] | None = None

    def resolve(ref: str) -> Mapping:
        nonlocal by_name
        ref = str(ref)
        testcase_id = ref if is_id(ref) else None
        if testcase_id is None:
            if by_name is None:
                by_name = {}
                for module in Module.by_project.query(project_id):
                    if module.status == ACTIVE:
                        for summary in StoredTestcase.by_module.query(module.id):
                            by_name.setdefault(summary.name_lc, summary.id)
            testcase_id = by_name.get(ref.casefold())
        found = get_or_none(StoredTestcase, testcase_id) if testcase_id else None
        if found is None or found.project_id != project_id:
            raise TestcaseNotFound(f"no test case {ref!r} in this project")
        return found.document

    return resolve


def _testcase_ids(report: Report) -> list[str]:
    """What the run covers, read when it starts: live modules of the project (those asked)."""
    if report.testcase_ids:
        return list(report.testcase_ids)
    wanted = set(report.module_ids) if report.module_ids else None
    ids: list[str] = []
    for module in Module.by_project.query(report.project_id, scan_index_forward=True):
        if module.status == ACTIVE and (wanted is None or module.id in wanted):
            ids += [t.id for t in StoredTestcase.by_module.query(module.id, scan_index_forward=True)]
    return ids


def _documents(ids: list[str], project_id: str) -> list[StoredTestcase]:
    found = {}
    for start in range(0, len(ids), 100):
        for testcase in StoredTestcase.batch_get(ids[start:start + 100]):
            if testcase.project_id == project_id:
                found[testcase.id] = testcase
    return [found[i] for i in ids if i in found]


class _CannotRun(Exception):
    """The run cannot happen (project gone, environment removed, nothing to run)."""


def _context(report: Report) -> tuple[Project, dict]:
    project = get_or_none(Project, report.project_id, consistent_read=True)
    if project is None or project.status != ACTIVE:
        raise _CannotRun("the project was deleted")
    if report.environment is not None and report.environment not in (project.environments or {}):
        raise _CannotRun(f"the environment {report.environment!r} no longer exists")
    _name, environment = choose_environment(project, report.environment) if report.environment \
        else (None, {})
    return project, environment


def _secret_run(project: Project, environment_name: str | None, environment: Mapping,
                run: Callable[[dict], dict]) -> dict:
    """Runs `run(environment)` with the environment's secrets opened into its variables, and
    returns its result with their values masked, as every log line written meanwhile; a failure
    is re-raised with its message masked and without the chained original."""
    from chalicelib.catalog.secrets import opened
    from chalicelib.core.masking import Masker, masking

    secrets = opened(project.id, project.secrets_key, environment_name, environment)
    clear = {key: value for key, value in environment.items() if key != "secrets"}
    if secrets:
        clear["variables"] = {**(environment.get("variables") or {}), **secrets}
    masker = Masker(secrets.values())
    with masking(masker):
        try:
            return masker.mask(run(clear))
        except Exception as failure:
            if not masker:
                raise
            raise RuntimeError(masker.text(str(failure))) from None


def _run(project: Project, report: Report, environment: dict, testcases: list[StoredTestcase],
         runner: Runner) -> dict:
    settings = get_settings()
    deadline = float(settings.run_deadline_seconds)
    budget = RUN_BUDGET_SECONDS.get()
    if budget is not None:
        deadline = max(1.0, min(deadline, budget))
    from chalicelib.sandbox.service import run_with_sandbox

    # testcases calling the project's debugtalk.py run in its sandbox, the rest here
    return _secret_run(project, report.environment, environment, lambda clear: run_with_sandbox(
        project.id, [t.document for t in testcases], runner, environment=clear,
        concurrency=settings.run_concurrency, outbound_allow=outbound_allow(),
        resolve_testcase=_resolver(project.id), read_file=run_file_reader(project.id),
        deadline_seconds=deadline))


def _status(tests_run: int, successes: int, degraded: int) -> str:
    """failed unless every test case passed; degraded when some of them were slow."""
    if not tests_run or successes != tests_run:
        return FAILED
    return DEGRADED if degraded else PASSED


def _counts(result: Mapping) -> tuple[int, int, int]:
    tests_run = int(result.get("tests_run", len(result.get("testcases", []))))
    successes = int(result.get("successes", 0))
    return tests_run, successes, int(result.get("failures", tests_run - successes))


def _mark_running(report: Report, now: datetime) -> Report | None:
    """queued -> running (or still running: a redelivery after a crash). None if final."""
    from pynamodb.exceptions import UpdateError

    try:
        report.update(actions=[Report.status.set(RUNNING), Report.started_at.set(Report.started_at | now),
                               Report.active.set(RUNNING),
                               Report.active_since.set(precise(report.started_at or now))],
                      condition=Report.status.is_in(QUEUED, RUNNING))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return None
    return report


def _finish_error(report: Report, reason: str, now: datetime, *, expect: str = RUNNING) -> bool:
    started = report.started_at or now
    try:
        store.finish(report, ERROR, finished_at=now, tests_run=int(report.tests_run or 0),
                     successes=int(report.successes or 0), failures=int(report.failures or 0),
                     duration_ms=int((now - started).total_seconds() * 1000), error=reason, expect=expect)
    except store.AlreadyFinal:
        return False
    logger.info("report %s: error: %s", report.id, reason)
    return True


def handle_run(report_id: str, *, runner: Runner = _default_runner, clock: Clock = utcnow) -> str | None:
    """The runs queue's "run" job. Returns the report's status afterwards (None: unknown id)."""
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None:
        logger.error("run job for unknown report %s; dropped", report_id)
        return None
    if report.status not in FINAL:
        run_once(f"run:{report_id}", lambda: _execute(report, runner, clock), clock=clock)
        report.refresh(consistent_read=True)
    if report.status in FINAL:
        after_finish(report, clock=clock)
    return report.status


def _execute(report: Report, runner: Runner, clock: Clock) -> None:
    now = clock()
    if _mark_running(report, now) is None:
        return
    try:
        project, environment = _context(report)
        ids = _testcase_ids(report)
        if not ids:
            raise _CannotRun("there are no test cases to run")
    except _CannotRun as cannot:
        _finish_error(report, str(cannot), clock())
        return
    size = max(1, get_settings().run_chunk_size)
    if len(ids) > size:
        _fan_out(report, ids, size)
        return
    testcases = _documents(ids, project.id)
    try:
        result = _run(project, report, environment, testcases, runner)
    except Exception as failure:  # the engine itself failed: the run could not happen
        logger.exception("report %s: the run failed", report.id)
        _finish_error(report, f"the run could not complete: {failure}", clock())
        return
    finished = clock()
    tests_run, successes, failures = _counts(result)
    history.tag_results(result, testcases)
    detail = {**result, "id": report.id}
    degraded = int(result.get("degraded") or 0)
    status = _status(tests_run, successes, degraded)
    duration = int(result.get("duration_ms") or 0)
    attempts = _attempts_with(report, 1, status, result.get("testcases") or [],
                              started_at=report.started_at or now, finished_at=finished, duration_ms=duration)
    if status == FAILED and _queue_next_attempt(report, detail, attempts, finished):
        return
    store.put_detail(store.detail_key(report.id), detail)
    try:
        store.finish(report, status, finished_at=finished,
                     tests_run=tests_run, successes=successes, failures=failures,
                     duration_ms=duration, has_detail=True, degraded=degraded,
                     timings=result.get("timings"), attempts=attempts)
    except store.AlreadyFinal:
        logger.warning("report %s was finished meanwhile (reaped?); this run's result is dropped", report.id)


# --- fan-out ---------------------------------------------------------------------------------------

def _fan_out(report: Report, ids: list[str], size: int) -> None:
    """More test cases than one Lambda should run: one chunk job each `size` of them."""
    from pynamodb.exceptions import UpdateError

    count = math.ceil(len(ids) / size)
    try:
        report.update(actions=[Report.chunk_count.set(count)],
                      condition=Report.chunk_count.does_not_exist() | (Report.chunk_count == count))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        logger.warning("report %s already fanned out differently; keeping that", report.id)
        return
    for chunk in range(count):
        enqueue("runs", {"kind": "chunk", "report_id": report.id, "chunk": chunk,
                         "testcase_ids": ids[chunk * size:(chunk + 1) * size],
                         "job_id": f"chunk-{report.id}-{chunk}"})
    logger.info("report %s: %d test cases in %d chunks", report.id, len(ids), count)


def handle_chunk(report_id: str, chunk: int, testcase_ids: list[str], *, runner: Runner = _default_runner,
                 clock: Clock = utcnow) -> str | None:
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None:
        return None
    if report.status == RUNNING:
        if str(chunk) not in (report.chunks_done or set()):
            run_once(f"run:{report_id}:{chunk}",
                     lambda: _run_chunk(report, chunk, testcase_ids, runner, clock), clock=clock)
            report.refresh(consistent_read=True)
        _maybe_finish_chunks(report, clock)
        report.refresh(consistent_read=True)
    if report.status in FINAL:
        after_finish(report, clock=clock)
    return report.status


def _run_chunk(report: Report, chunk: int, ids: list[str], runner: Runner, clock: Clock) -> None:
    from pynamodb.exceptions import UpdateError

    try:
        project, environment = _context(report)
    except _CannotRun as cannot:
        _finish_error(report, str(cannot), clock())
        return
    testcases = _documents(ids, project.id)
    try:
        result = _run(project, report, environment, testcases, runner)
    except Exception as failure:
        logger.exception("report %s chunk %d: the run failed", report.id, chunk)
        _finish_error(report, f"chunk {chunk} could not complete: {failure}", clock())
        return
    history.tag_results(result, testcases)
    store.put_detail(store.detail_key(report.id, chunk), result)
    tests_run, successes, failures = _counts(result)
    try:
        report.update(
            actions=[Report.tests_run.add(tests_run), Report.successes.add(successes),
                     Report.failures.add(failures), Report.chunk_ms.add(int(result.get("duration_ms") or 0)),
                     Report.chunks_done.add({str(chunk)})],
            condition=(Report.status == RUNNING) & ~Report.chunks_done.contains(str(chunk)))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        logger.info("report %s chunk %d was counted already (or the report finished)", report.id, chunk)


def _maybe_finish_chunks(report: Report, clock: Clock) -> None:
    """The chunk that lands last (or any redelivery after it) merges details and finishes."""
    if report.status != RUNNING or not report.chunk_count or retries.current_attempt(report) > 1:
        return  # (past attempt 1: the chunks' merge is a retried run's first attempt, done)
    if len(report.chunks_done or ()) < int(report.chunk_count):
        return
    merged: dict = {"testcases": []}
    for chunk in range(int(report.chunk_count)):
        part = store.get_detail(store.detail_key(report.id, chunk)) or {}
        merged["testcases"] += part.get("testcases", [])
    tests_run, successes = int(report.tests_run or 0), int(report.successes or 0)
    now = clock()
    started = report.started_at or now
    duration = int((now - started).total_seconds() * 1000)
    from chalicelib.runner.report import timings

    degraded = sum(1 for case in merged["testcases"] if case.get("degraded"))
    merged.update({"id": report.id, "tests_run": tests_run, "successes": successes,
                   "failures": int(report.failures or 0), "degraded": degraded, "duration_ms": duration,
                   "timings": timings(merged["testcases"])})
    status = _status(tests_run, successes, degraded)
    attempts = _attempts_with(report, 1, status, merged["testcases"], started_at=started, finished_at=now,
                              duration_ms=duration)
    if status == FAILED and _queue_next_attempt(report, merged, attempts, now):
        return
    store.put_detail(store.detail_key(report.id), merged)
    try:
        store.finish(report, status, finished_at=now, tests_run=tests_run,
                     successes=successes, failures=int(report.failures or 0), duration_ms=duration,
                     has_detail=True, degraded=degraded, timings=merged["timings"], attempts=attempts)
    except store.AlreadyFinal:
        pass


# --- retries of a whole run (runs/retries.py) --------------------------------------------------------

def _attempts_with(report: Report, number: int, status: str, cases: list[dict], *, started_at: datetime,
                   finished_at: datetime, duration_ms: int) -> list[dict] | None:
    """A run with a retry policy: its attempts' records, this one's last; None without one."""
    if not report.retries:
        return None
    return [*(report.attempts or []), retries.record(number, status, cases, started_at=started_at,
                                                     finished_at=finished_at, duration_ms=duration_ms)]


def _queue_next_attempt(report: Report, detail: dict, attempts: list[dict] | None, now: datetime) -> bool:
    """After a failed attempt whose policy allows another: the detail so far to S3, the next
    attempt's delayed message, then (UpdateItem, conditional on the attempt counter) this
    attempt's record and the counter moved on. False: no further attempt, finish now."""
    from pynamodb.exceptions import UpdateError

    plan = retries.next_attempt(report, now) if attempts else None
    ids = retries.failing_ids(detail.get("testcases") or [], max(1, get_settings().run_chunk_size))
    if plan is None or ids is None:
        return False
    number, delay, due = plan
    store.put_detail(store.attempts_key(report.id), detail)
    recorded = [*attempts[:-1], {**attempts[-1], "failed_testcases": ids, "delay_seconds": delay,
                                 "next_attempt_at": isoformat(due)}]
    enqueue("runs", retries.message(report.id, number), delay_seconds=delay)
    try:
        report.update(actions=[Report.attempt.set(number), Report.attempts.set(recorded),
                               Report.active_since.set(precise(due))],
                      condition=(Report.status == RUNNING) & retries.at_attempt(number - 1))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        logger.info("report %s moved on meanwhile; attempt %d is not recorded", report.id, number)
        return True
    logger.info("report %s: attempt %d failed; attempt %d in %d s", report.id, number - 1, number, delay)
    return True


def handle_attempt(report_id: str, number: int, *, runner: Runner = _default_runner,
                   clock: Clock = utcnow) -> str | None:
    """The runs queue's "attempt" job: attempt `number` of a retried run, once. Returns the
    report's status afterwards (None: unknown id)."""
    from chalicelib.core.jobs import JobInProgress

    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None:
        logger.error("attempt job for unknown report %s; dropped", report_id)
        return None
    if report.status == RUNNING and report.retries:
        current = retries.current_attempt(report)
        if current == number - 1:  # queued, but its record has not committed yet: try again later
            raise JobInProgress(f"report {report_id}: attempt {number} is not recorded yet")
        if current == number:
            run_once(f"run:{report_id}:attempt:{number}",
                     lambda: _run_attempt(report, number, runner, clock), clock=clock)
            report.refresh(consistent_read=True)
    if report.status in FINAL:
        after_finish(report, clock=clock)
    return report.status


def _run_attempt(report: Report, number: int, runner: Runner, clock: Clock) -> None:
    """Run the test cases the previous attempt failed, merge them into the detail so far, and
    finish the report or queue the next attempt."""
    from chalicelib.runner.report import timings

    now = clock()
    try:
        project, environment = _context(report)
        testcases = _documents(list((report.attempts or [{}])[-1].get("failed_testcases") or ()), project.id)
        if not testcases:
            raise _CannotRun(f"the test cases to run in attempt {number} were deleted")
    except _CannotRun as cannot:
        _finish_error(report, str(cannot), clock())
        return
    try:
        result = _run(project, report, environment, testcases, runner)
    except Exception as failure:
        logger.exception("report %s attempt %d: the run failed", report.id, number)
        _finish_error(report, f"attempt {number} could not complete: {failure}", clock())
        return
    finished = clock()
    history.tag_results(result, testcases)
    cases = result.get("testcases") or []
    ran_run, ran_successes, _ = _counts(result)
    ran_status = _status(ran_run, ran_successes, int(result.get("degraded") or 0))
    previous = store.get_detail(store.attempts_key(report.id)) or {"testcases": []}
    detail = retries.merge(previous, result, number)
    tests_run, successes, failures, degraded = retries.counts(detail["testcases"])
    status = _status(tests_run, successes, degraded)
    attempts = _attempts_with(report, number, ran_status, cases, started_at=now, finished_at=finished,
                              duration_ms=int(result.get("duration_ms") or 0))
    duration = sum(int(attempt["duration_ms"]) for attempt in attempts or ())
    detail.update({"id": report.id, "tests_run": tests_run, "successes": successes, "failures": failures,
                   "degraded": degraded, "duration_ms": duration, "timings": timings(detail["testcases"])})
    if status == FAILED and _queue_next_attempt(report, detail, attempts, finished):
        return
    store.put_detail(store.detail_key(report.id), detail)
    try:
        store.finish(report, status, finished_at=finished, tests_run=tests_run, successes=successes,
                     failures=failures, duration_ms=duration, has_detail=True, degraded=degraded,
                     timings=detail["timings"], attempts=attempts)
    except store.AlreadyFinal:
        logger.warning("report %s was finished meanwhile (reaped?); attempt %d is dropped", report.id, number)


# --- after a report finishes: callback and notifications ------------------------------------------------

def after_finish(report: Report, *, clock: Clock = utcnow) -> None:
    """Idempotent: the callback job has a fixed id and sends under run_once; notifications are
    decided once per report (run_once) and queued with fixed job ids."""
    if report.callback_url:
        enqueue("runs", {"kind": "callback", "report_id": report.id, "job_id": f"callback-{report.id}"})
    from chalicelib.runs.github import wants_status

    if wants_status(report.origin):
        enqueue("runs", {"kind": "github_status", "report_id": report.id,
                         "job_id": f"github-status-{report.id}"})
    run_once(f"notify:{report.id}", lambda: _notify_once(report, clock), clock=clock)
    run_once(f"history:{report.id}", lambda: _record_history(report), clock=clock)


def _record_history(report: Report) -> int:
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail else None
    return history.record(report, detail)


def _record_outcome(report: Report) -> tuple[str | None, int, int]:
    """Record this report as its stream's latest outcome and move its failure streak on;
    returns (the outcome before it, the streak with it, the streak before it)."""
    from pynamodb.exceptions import UpdateError

    key = f"outcome#{report.task_id or report.project_id}"
    setting = RunSetting(key)
    streak = (RunSetting.failures | 0) + 1 if report.status in (FAILED, ERROR) else 0
    try:
        setting.update(actions=[RunSetting.previous_status.set(RunSetting.last_status | "none"),
                                RunSetting.last_status.set(report.status),
                                RunSetting.previous_failures.set(RunSetting.failures | 0),
                                RunSetting.failures.set(streak),
                                RunSetting.last_report_id.set(report.id)],
                       condition=RunSetting.last_report_id.does_not_exist()
                       | (RunSetting.last_report_id != report.id))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        setting = RunSetting.get(key, consistent_read=True)  # recorded by an earlier try
    previous = setting.previous_status
    return (None if previous in (None, "none") else previous, int(setting.failures or 0),
            int(setting.previous_failures or 0))


def should_notify(when: str, status: str, previous: str | None) -> bool:
    failed = status not in PASSING
    recovered = status in PASSING and previous in (FAILED, ERROR)
    return when == "always" or (when == "failure" and (failed or recovered))


def _notify_once(report: Report, clock: Clock = utcnow) -> int:
    """Decide once per report who hears of it: `notify` (members and confirmed recipients only,
    notify/recipients.py) and the alert channels that are due (notify/alerts.py)."""
    previous, failures, previous_failures = _record_outcome(report)
    notify = report.notify or {}
    named = notify.get("emails") or notify.get("mobiles") or notify.get("users")
    sent = 0
    if named and should_notify(notify.get("when", "never"), report.status, previous):
        outcomes, sent = _send_messages(report, notify, previous, clock)
        report.update(actions=[Report.notifications.set(outcomes)])
    _queue_alerts(report, previous, failures, previous_failures, clock)
    return sent


def _send_messages(report: Report, notify: Mapping, previous: str | None,
                   clock: Clock) -> tuple[list[dict], int]:
    """Email and SMS to the recipients `notify` names that may have them, within the project's
    daily limit: (each named recipient's outcome, masked; how many were queued)."""
    from chalicelib.notify.messages import email_html, email_text, sms_text
    from chalicelib.notify.recipients import (
        DAILY_LIMIT,
        QUEUED,
        resolve,
        take_daily_messages,
        unsubscribe_headers,
    )

    targets, outcomes = resolve(report.project_id, notify, clock=clock)
    allowed = take_daily_messages(report.project_id, len(targets), clock=clock)
    recovered = report.status in PASSING and previous in (FAILED, ERROR)
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail and targets else None
    sms = sms_text(report, recovered=recovered)
    for n, target in enumerate(targets):
        if n >= allowed:
            outcomes.append({"channel": target.channel, "to": target.shown, "outcome": DAILY_LIMIT})
            continue
        job = {"kind": "message", "to": target.address,
               "job_id": f"report-{report.id}-{target.channel}-{target.rid}"}
        if target.channel == "email":
            url = target.unsubscribe_url
            subject, body = email_text(report, detail, recovered=recovered, unsubscribe_url=url)
            job.update(subject=subject, body=body, headers=unsubscribe_headers(url),
                       html=email_html(report, detail, recovered=recovered, unsubscribe_url=url))
        else:
            job["body"] = sms
        enqueue(target.channel, job)
        outcomes.append({"channel": target.channel, "to": target.shown, "outcome": QUEUED})
    if allowed < len(targets):
        logger.warning("report %s: the project's daily message limit held back %d messages",
                       report.id, len(targets) - allowed)
    return outcomes, min(allowed, len(targets))


# --- alert channels (notify/alerts.py) ------------------------------------------------------------

def _channels(report: Report) -> tuple[list[dict], Project | None, Any]:
    """The report's alert channels: its task's, if the task has any, else the project's."""
    from chalicelib.runs.extensions import task_model

    task_table = task_model()  # schedules' Task (registered in schedules/jobs.py)
    wanted = [(Project, report.project_id),
              (task_table, report.task_id) if report.task_id and task_table is not None else None]
    project, task = get_many(wanted)
    channels = (task.alerts if task is not None and task.alerts else None) or \
        (project.alerts if project is not None else None) or []
    return list(channels), project, task


def _queue_alerts(report: Report, previous: str | None, failures: int, previous_failures: int,
                  clock: Clock) -> None:
    """Once per report: each channel that is due (notify/alerts.py `due`) is written `queued` on
    the report and gets an `alert` job; a failure held back by its quiet window, `suppressed`."""
    from chalicelib.notify.alerts import due

    channels, _project, _task = _channels(report)
    if not channels:
        return
    now, outcomes, due_now = clock(), {}, []
    for channel in channels:
        key = f"alert#{report.task_id or report.project_id}#{channel['id']}"
        last = get_or_none(RunSetting, key, consistent_read=True)
        if not due(channel, status=report.status, previous=previous, failures=failures,
                   previous_failures=previous_failures, last_alert_at=last.last_alert_at if last else None,
                   now=now):
            if report.status in (FAILED, ERROR) and "failure" in (channel.get("when") or ()):
                outcomes[channel["id"]] = {"type": channel["type"], "outcome": "suppressed"}
            continue
        if report.status in (FAILED, ERROR):
            RunSetting(key).update(actions=[RunSetting.last_alert_at.set(now)])
        outcomes[channel["id"]] = {"type": channel["type"], "outcome": "queued"}
        due_now.append(channel["id"])
    if outcomes:
        report.update(actions=[Report.alerts.set(outcomes)])
    for alert_id in due_now:
        enqueue("runs", {"kind": "alert", "report_id": report.id, "alert_id": alert_id, "previous": previous,
                         "job_id": f"alert-{report.id}-{alert_id}"})


def handle_alert(report_id: str, alert_id: str, *, previous: str | None = None,
                 runner: Runner = _default_runner, clock: Clock = utcnow) -> bool:
    """The runs queue's "alert" job: send one channel's message for one report, once."""
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None or report.status not in FINAL:
        return False
    channels, project, task = _channels(report)
    channel = next((c for c in channels if c["id"] == alert_id), None)
    if channel is None or project is None:
        _alert_outcome(report, alert_id, {"type": "unknown", "outcome": "removed"})
        return False
    ran, _ = run_once(f"alert:{report_id}:{alert_id}",
                      lambda: _send_alert(report, channel, project, task, previous, runner, clock),
                      clock=clock)
    return ran


def _alert_outcome(report: Report, alert_id: str, outcome: dict) -> None:
    report.update(actions=[Report.alerts[alert_id].set(outcome)])


def _send_alert(report: Report, channel: Mapping, project: Project, task: Any, previous: str | None,
                runner: Runner, clock: Clock) -> None:
    from chalicelib.notify.alerts import AlertFailed, post, request_for, summary

    outcome = {"type": channel["type"]}
    if channel["type"] in ("email", "sms"):  # the recipients' rules and the daily limit apply
        notify = {"emails" if channel["type"] == "email" else "mobiles": [channel["target"]]}
        sent, _count = _send_messages(report, notify, previous, clock)
        if sent:
            _alert_outcome(report, channel["id"],
                           {**outcome, "to": sent[0]["to"], "outcome": sent[0]["outcome"]})
        return
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail else None
    facts = summary(report, detail, project_name=project.name, task_name=task.name if task else None,
                    recovered=report.status in PASSING and previous in (FAILED, ERROR))
    secrets_now = current_webhook_secrets(project, clock=clock)
    signing = secrets_now[0] if secrets_now else None
    url, headers, body, checks = request_for(channel, facts, report_view(report), webhook_secret=signing,
                                             clock=clock)
    try:
        status = post(url, headers, body, checks, runner)
    except AlertFailed as failure:
        _alert_outcome(report, channel["id"], {**outcome, "outcome": "failed", "error": str(failure),
                                               "at": isoformat(clock())})
        raise
    _alert_outcome(report, channel["id"], {**outcome, "outcome": "delivered", "status_code": status,
                                           "at": isoformat(clock())})


# --- outbound callback -------------------------------------------------------------------------------

class CallbackFailed(Exception):
    """The callback URL did not answer 2xx (or could not be reached): retried via the queue."""


def handle_callback(report_id: str, *, runner: Runner = _default_runner, clock: Clock = utcnow) -> bool:
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None or report.status not in FINAL or not report.callback_url:
        return False
    ran, _ = run_once(f"callback:{report_id}", lambda: _post_callback(report, runner, clock), clock=clock)
    return ran


def _post_callback(report: Report, runner: Runner, clock: Clock) -> None:
    from chalicelib.core.signing import signed_headers

    body = json.dumps({"event": "run.finished", "report": report_view(report)}, separators=(",", ":"))
    secret = current_webhook_secrets(get_or_none(Project, report.project_id, consistent_read=True),
                                     clock=clock)
    headers = signed_headers(secret[0], body.encode(), clock=clock) if secret \
        else {"Content-Type": "application/json"}
    # The runner sends it: the same outbound guard (addresses, redirects, DNS) as any run.
    document = {"config": {"name": "callback"}, "teststeps": [{
        "name": "run.finished",
        "request": {"method": "POST", "url": report.callback_url, "headers": headers,
                    "data": body.replace("$", "$$"), "allow_redirects": False, "timeout": 10},
        "validate": [{"lt": ["status_code", 300]}, {"ge": ["status_code", 200]}]}]}
    result = runner([document], concurrency=1, outbound_allow=outbound_allow(), deadline_seconds=20)
    if not result.get("successes"):
        steps = (result.get("testcases") or [{}])[0].get("steps") or [{}]
        raise CallbackFailed(f"callback to {report.callback_url} failed: "
                             f"{steps[0].get('error') or steps[0].get('status_code')}")


# --- webhook secrets --------------------------------------------------------------------------------

def rotate_webhook_secret(user: dict, project_id: str, *, clock: Clock = utcnow) -> dict:
    """Owner only: replace the project's webhook secret (made with the project); shown this once.
    GetItem (project), UpdateItem. The previous secret verifies for a grace period."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.core.errors import Forbidden
    from chalicelib.core.signing import new_salt, webhook_secret

    project = load_project(user, project_id)
    if project.owner_id != user["id"]:
        raise Forbidden("only the project's owner can rotate its webhook secret", code="owner_only")
    now, salt = clock(), new_salt()
    try:
        project.update(actions=[
            Project.webhook_previous_salt.set(project.webhook_salt) if project.webhook_salt
            else Project.webhook_previous_salt.remove(),
            Project.webhook_salt.set(salt), Project.webhook_rotated_at.set(now)],
            condition=(Project.owner_id == user["id"]) & (Project.status == ACTIVE)
            & _same_salt(project.webhook_salt))
    except UpdateError as error:
        if condition_failed(error):
            # Rotated (or deleted) meanwhile: a retry rotates again (or answers 404).
            raise Conflict("the project changed meanwhile; try again", code="changed_meanwhile") from None
        raise
    return {"project_id": project.id, "secret": webhook_secret(project.id, salt),
            "rotated_at": isoformat(now), "previous_valid_until": isoformat(now + timedelta(
                seconds=get_settings().webhook_previous_secret_seconds))}


def _same_salt(salt: str | None) -> Any:
    """Two rotations racing: the second must not make the first one's secret the "previous"."""
    return Project.webhook_salt == salt if salt else Project.webhook_salt.does_not_exist()


def current_webhook_secrets(project: Project | None, *, clock: Clock = utcnow) -> list[str]:
    """The secrets a signature may use now (newest first); [] for no project or no secret."""
    from chalicelib.core.signing import webhook_secret

    if project is None or project.status != ACTIVE or not project.webhook_salt:
        return []
    found = [webhook_secret(project.id, project.webhook_salt)]
    grace = timedelta(seconds=get_settings().webhook_previous_secret_seconds)
    if project.webhook_previous_salt and project.webhook_rotated_at \
            and clock() - project.webhook_rotated_at < grace:
        found.append(webhook_secret(project.id, project.webhook_previous_salt))
    return found


def start_claimed_run(project: Project, *, claim_key: str | None, claim_ttl: timedelta,
                      environment: str | None, clock: Clock = utcnow, **fields: Any) -> dict | None:
    """For webhooks: queue a run of `project` (its defaults applied) whose report commits with a
    claim on `claim_key` (one TransactWriteItems: a conditional put of the claim, kept for
    `claim_ttl`, and the report). None when the claim exists: that request was handled before.
    Without a claim key, the report alone (one PutItem)."""
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.core.db import transaction
    from chalicelib.core.models import IdempotencyRecord

    env_name, _env = choose_environment(project, environment)
    defaults = dict(trigger="webhook", name=project.name, module_ids=None, testcase_ids=None, task_id=None,
                    notify=None, callback_url=None, started_by=None, retries_policy=None)
    report = _new_report(project, environment=env_name, clock=clock,
                         **_with_project_defaults(project, {**defaults, **fields}))
    if claim_key is None:
        report.save(condition=Report.id.does_not_exist())
    else:
        claim = IdempotencyRecord(claim_key, status="COMPLETED", in_progress_until=0,
                                  expires_at=clock() + claim_ttl)
        try:
            with transaction() as tx:
                tx.save(claim, condition=IdempotencyRecord.key.does_not_exist())
                tx.save(report, condition=Report.id.does_not_exist())
        except TransactWriteError as error:
            if cancelled_by_condition(error):
                return None
            raise
    _enqueue_run(report.id)
    _ask_recipients(project, fields.get("notify"), None)  # signed, not a member: the owner stands for it
    return {"report_id": report.id, "status": QUEUED}


def webhook_run(project_id: str, headers: Mapping[str, str], raw_body: bytes, *,
                clock: Clock = utcnow) -> dict:
    """POST /hooks/projects/{id}/runs: GetItem (project, which holds the secret's salt), one
    TransactWriteItems (the replay claim on the signature and the report). A project that is
    gone or has no secret answers 401 like a bad signature: nothing is revealed unsigned."""
    from chalicelib.core.parsing import load_json_bounded
    from chalicelib.core.signing import verify
    from chalicelib.core.validation import validate
    from chalicelib.runs.schemas import WebhookBody

    if not is_id(project_id):
        raise Unauthorized("signature does not match", code="bad_signature")
    tolerance = get_settings().webhook_tolerance_seconds
    project = get_or_none(Project, project_id, consistent_read=True)
    candidates = current_webhook_secrets(project, clock=clock)
    signature = verify(candidates or [secrets.token_hex(16)], headers, raw_body, clock=clock,
                       tolerance_seconds=tolerance)
    data = load_json_bounded(raw_body) if raw_body else {}
    body = validate(WebhookBody, data)
    answer = start_claimed_run(project, claim_key=f"hook:{project_id}:{signature}",
                               claim_ttl=timedelta(seconds=2 * tolerance + 60), environment=body.environment,
                               module_ids=body.module_ids, notify=_notify(body),
                               callback_url=body.callback_url, retries_policy=_retries(body), clock=clock)
    if answer is None:
        raise Unauthorized("this signed request was already used (replay)", code="replayed")
    return answer


# --- reading reports -----------------------------------------------------------------------------------

def _load_report(user: dict, report_id: str) -> Report:
    """GetItem (report), GetItem (its project, for access)."""
    report = get_or_none(Report, checked_id(report_id, "report"), consistent_read=True)
    if report is None:
        raise _not_found()
    project = get_or_none(Project, report.project_id, consistent_read=True)
    if not visible_to(project, user):
        raise _not_found()
    return report


def list_reports(user: dict, project_id: str, limit: int, start: dict | None) -> dict:
    """GetItem (project), one Query on the by-project index, newest first."""
    project = load_project(user, project_id)
    start = checked_start_key(start, names=("id", "project_id", "sort_key"),
                              partition={"project_id": project.id})
    reports, next_key = query_page(
        lambda **kw: Report.by_project.query(project.id, scan_index_forward=False, **kw),
        Report, limit=limit, start_key=start,
        key_of=lambda r: string_key(id=r.id, project_id=r.project_id, sort_key=r.sort_key))
    return page([report_view(r) for r in reports], next_key)


def get_report(user: dict, report_id: str) -> dict:
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


def report_junit(user: dict, report_id: str) -> str:
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


# --- debug ------------------------------------------------------------------------------------------

# the report is the HTTP answer: well inside what a Lambda may return (6 MB)
DEBUG_MAX_REPORT_CHARS = 2_000_000


def debug_run(user: dict, body: Any, *, runner: Runner = _default_runner) -> dict:
    """POST /testcases/debug: GetItem (project); the run inline, bounded; nothing stored
    (a `testcase:` reference costs a read or two more)."""
    from chalicelib.catalog.service import checked_document
    from chalicelib.sandbox.service import project_functions, run_with_sandbox

    project = load_project(user, body.project_id)
    env_name, environment = choose_environment(project, body.environment)
    document, _size, _steps = checked_document(body.testcase, prefix="testcase",
                                               functions_of=lambda: project_functions(project.id))
    settings = get_settings()
    result = _secret_run(project, env_name, environment, lambda clear: run_with_sandbox(
        project.id, [document], runner, environment=clear, concurrency=settings.run_concurrency,
        outbound_allow=outbound_allow(), resolve_testcase=_resolver(project.id),
        read_file=run_file_reader(project.id), deadline_seconds=min(25, settings.debug_deadline_seconds),
        max_report_chars=DEBUG_MAX_REPORT_CHARS))
    tests_run, successes, _failures = _counts(result)
    status = _status(tests_run, successes, int(result.get("degraded") or 0))
    return {**result, "status": status, "trigger": "debug", "project_id": project.id}


# --- dashboard ---------------------------------------------------------------------------------------

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


def dashboard(user: dict, tz: str | None = None, *, clock: Clock = utcnow) -> dict:
    """Query (memberships), BatchGetItem (projects), BatchGetItem (counters: 2 items per project);
    the same whatever the number of reports. Up to 50 projects keep it at these 3 calls."""
    zone = _zone(tz or user.get("timezone"))
    ids = [row.project_id for row in Membership.query(user["id"], attributes_to_get=["project_id"])]
    projects = [p for p in get_many([(Project, pid) for pid in ids]) if _visible(p, user["id"])]
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


# --- the reaper --------------------------------------------------------------------------------------

def reap(*, clock: Clock | None = None) -> int:
    """Reports `running` past the limit (the worker died, e.g. Lambda's timeout) or `queued`
    past theirs (their job dead-lettered) become `error`. Queries the sparse `active` index."""
    settings = get_settings()
    clock = clock or utcnow
    now = clock()
    reaped = 0
    for state, limit, reason in (
            (RUNNING, settings.run_stuck_after_seconds,
             f"the run did not finish within {settings.run_stuck_after_seconds} s"),
            (QUEUED, settings.run_queued_stuck_after_seconds,
             f"the run did not start within {settings.run_queued_stuck_after_seconds} s")):
        cutoff = precise(now - timedelta(seconds=limit))
        for key in Report.active_reports.query(state, Report.active_since < cutoff):
            report = get_or_none(Report, key.id, consistent_read=True)
            if report is None or report.status != state:
                continue
            if _finish_error(report, reason, now, expect=state):
                reaped += 1
                report.refresh(consistent_read=True)
                try:
                    after_finish(report, clock=clock)
                except Exception:
                    logger.exception("report %s: notifications after reaping failed", report.id)
    return reaped


# --- the runs queue ----------------------------------------------------------------------------------

def handle_message(payload: dict, *, runner: Runner = _default_runner, clock: Clock = utcnow) -> object:
    """Dispatch one runs-queue message."""
    from chalicelib.runs.extensions import handler_for

    handler = handler_for(payload)  # another feature's kind: schedules' firings
    if handler is not None:
        return handler(payload)
    kind = payload.get("kind", "run")
    if kind == "run":
        return handle_run(payload["report_id"], runner=runner, clock=clock)
    if kind == retries.ATTEMPT_KIND:
        return handle_attempt(payload["report_id"], int(payload["attempt"]), runner=runner, clock=clock)
    if kind == "chunk":
        return handle_chunk(payload["report_id"], int(payload["chunk"]), list(payload["testcase_ids"]),
                            runner=runner, clock=clock)
    if kind == "callback":
        return handle_callback(payload["report_id"], runner=runner, clock=clock)
    if kind == "alert":
        return handle_alert(payload["report_id"], str(payload["alert_id"]), previous=payload.get("previous"),
                            runner=runner, clock=clock)
    if kind == "github_status":
        from chalicelib.runs.github import handle_status

        return handle_status(payload["report_id"], runner=runner, clock=clock)
    if kind == "sandbox":  # a project's debugtalk.py saved or deleted
        from chalicelib.sandbox.service import sync_sandbox

        return sync_sandbox(payload["project_id"])
    logger.error("unknown runs job kind %r; dropped", kind)
    return None
