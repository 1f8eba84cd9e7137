"""The runs queue's worker: a run (queued -> running -> final, once), its fan-out into chunks
and their merge, the further attempts of a run with a retry policy (runs/retries.py), the
stuck-run reaper, and the dispatch of every runs-queue message kind."""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.catalog import access
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import condition_failed, get_or_none
from chalicelib.core.ids import precise
from chalicelib.core.jobs import enqueue, run_once
from chalicelib.core.settings import get_settings
from chalicelib.runs import history, retries, store
from chalicelib.runs.execution import (
    CannotRun,
    Runner,
    counts,
    run_context,
    run_testcases,
    verdict,
)
from chalicelib.runs.followups import after_finish, handle_alert, handle_callback
from chalicelib.runs.models import (
    ERROR,
    FAILED,
    FINAL,
    QUEUED,
    RUNNING,
    Report,
)

if TYPE_CHECKING:
    from chalicelib.catalog.models import Project

logger = logging.getLogger("hat.runs")


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


def _run_or_finish_error(report: Report, project: Project, environment: dict, testcases: list,
                         runner: Runner, budget_seconds: float | None, what: str,
                         clock: Clock) -> dict | None:
    """The result of running `testcases`; None when the engine itself failed (the run could not
    happen), the report then finished as an error saying which part (`what`) could not complete."""
    try:
        return run_testcases(project, report, environment, testcases, runner, budget_seconds)
    except Exception as failure:
        logger.exception("report %s, %s: the run failed", report.id, what)
        _finish_error(report, f"{what} could not complete: {failure}", clock())
        return None


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


def handle_run(report_id: str, *, runner: Runner, clock: Clock, budget_seconds: float | None) -> str | None:
    """The runs queue's "run" job. Returns the report's status afterwards (None: unknown id)."""
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None:
        logger.error("run job for unknown report %s; dropped", report_id)
        return None
    if report.status not in FINAL:
        run_once(f"run:{report_id}", lambda: _execute(report, runner, clock, budget_seconds), clock=clock)
        report.refresh(consistent_read=True)
    if report.status in FINAL:
        after_finish(report, clock=clock)
    return report.status


def _execute(report: Report, runner: Runner, clock: Clock, budget_seconds: float | None) -> None:
    now = clock()
    if _mark_running(report, now) is None:
        return
    try:
        project, environment = run_context(report)
        ids = access.testcase_ids(report.project_id, module_ids=report.module_ids,
                                  testcase_ids=report.testcase_ids)
        if not ids:
            raise CannotRun("there are no test cases to run")
    except CannotRun as cannot:
        _finish_error(report, str(cannot), clock())
        return
    size = max(1, get_settings().run_chunk_size)
    if len(ids) > size:
        _fan_out(report, ids, size)
        return
    testcases = access.stored_testcases(ids, project.id)
    result = _run_or_finish_error(report, project, environment, testcases, runner, budget_seconds,
                                  "the run", clock)
    if result is None:
        return
    finished = clock()
    tests_run, successes, failures = counts(result)
    history.tag_results(result, testcases)
    detail = {**result, "id": report.id}
    degraded = int(result.get("degraded") or 0)
    status = verdict(tests_run, successes, degraded)
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


def handle_chunk(report_id: str, chunk: int, testcase_ids: list[str], *, runner: Runner, clock: Clock,
                 budget_seconds: float | None) -> str | None:
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None:
        return None
    if report.status == RUNNING:
        if str(chunk) not in (report.chunks_done or set()):
            run_once(f"run:{report_id}:{chunk}",
                     lambda: _run_chunk(report, chunk, testcase_ids, runner, clock, budget_seconds),
                     clock=clock)
            report.refresh(consistent_read=True)
        _maybe_finish_chunks(report, clock)
        report.refresh(consistent_read=True)
    if report.status in FINAL:
        after_finish(report, clock=clock)
    return report.status


def _run_chunk(report: Report, chunk: int, ids: list[str], runner: Runner, clock: Clock,
               budget_seconds: float | None) -> None:
    from pynamodb.exceptions import UpdateError

    try:
        project, environment = run_context(report)
    except CannotRun as cannot:
        _finish_error(report, str(cannot), clock())
        return
    testcases = access.stored_testcases(ids, project.id)
    result = _run_or_finish_error(report, project, environment, testcases, runner, budget_seconds,
                                  f"chunk {chunk}", clock)
    if result is None:
        return
    history.tag_results(result, testcases)
    store.put_detail(store.detail_key(report.id, chunk), result)
    tests_run, successes, failures = counts(result)
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
    status = verdict(tests_run, successes, degraded)
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
    plan = retries.next_attempt(report, now) if attempts else None
    ids = retries.failing_ids(detail.get("testcases") or [], max(1, get_settings().run_chunk_size))
    if plan is None or ids is None:
        return False
    number, delay, due = plan
    store.put_detail(store.attempts_key(report.id), detail)
    last = {**attempts[-1], "failed_testcases": ids, "delay_seconds": delay,
            "next_attempt_at": isoformat(due)}
    due_at = precise(due)
    enqueue("runs", retries.message(report.id, number, last, due_at), delay_seconds=delay)
    if record_attempt(report, number, last, due_at):
        logger.info("report %s: attempt %d failed; attempt %d in %d s", report.id, number - 1, number, delay)
    else:  # the attempt's own message got there first, or the run was finished meanwhile
        logger.info("report %s moved on meanwhile; attempt %d recorded already, or not at all",
                    report.id, number)
    return True


def record_attempt(report: Report, number: int, previous: dict, due: str) -> bool:
    """UpdateItem: the previous attempt's record appended, the counter on `number`, the reaper's
    clock on `due`; only while the report is running at attempt `number - 1`. Written by the
    worker that queued the attempt and, if it died before, by the attempt's message: whichever
    comes first. False: the report was not there any more."""
    from pynamodb.exceptions import UpdateError

    try:
        recorded = [*(report.attempts or []), previous]
        report.update(actions=[Report.attempt.set(number), Report.attempts.set(recorded),
                               Report.active_since.set(due)],
                      condition=(Report.status == RUNNING) & retries.at_attempt(number - 1))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def handle_attempt(report_id: str, number: int, *, runner: Runner, clock: Clock,
                   budget_seconds: float | None, previous: dict | None = None,
                   due: str | None = None) -> str | None:
    """The runs queue's "attempt" job: attempt `number` of a retried run, once. Returns the
    report's status afterwards (None: unknown id). `previous` and `due`: what the message
    carries for the record its sender may not have written (retries.message)."""
    from chalicelib.core.jobs import JobInProgress

    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None:
        logger.error("attempt job for unknown report %s; dropped", report_id)
        return None
    if report.status == RUNNING and report.retries:
        current = retries.current_attempt(report)
        if current == number - 1:  # queued, but its record is not written (yet, or ever: the sender died)
            if previous is None or due is None:  # a message without the record: wait for the sender's
                raise JobInProgress(f"report {report_id}: attempt {number} is not recorded yet")
            if not record_attempt(report, number, previous, due):
                report.refresh(consistent_read=True)  # the sender's own update landed meanwhile
            current = retries.current_attempt(report)
        if current == number:
            run_once(f"run:{report_id}:attempt:{number}",
                     lambda: _run_attempt(report, number, runner, clock, budget_seconds), clock=clock)
            report.refresh(consistent_read=True)
    if report.status in FINAL:
        after_finish(report, clock=clock)
    return report.status


def _run_attempt(report: Report, number: int, runner: Runner, clock: Clock,
                 budget_seconds: float | None) -> None:
    """Run the test cases the previous attempt failed, merge them into the detail so far, and
    finish the report or queue the next attempt."""
    from chalicelib.runner.report import timings

    now = clock()
    try:
        project, environment = run_context(report)
        failed = list((report.attempts or [{}])[-1].get("failed_testcases") or ())
        testcases = access.stored_testcases(failed, project.id)
        if not testcases:
            raise CannotRun(f"the test cases to run in attempt {number} were deleted")
    except CannotRun as cannot:
        _finish_error(report, str(cannot), clock())
        return
    result = _run_or_finish_error(report, project, environment, testcases, runner, budget_seconds,
                                  f"attempt {number}", clock)
    if result is None:
        return
    finished = clock()
    history.tag_results(result, testcases)
    cases = result.get("testcases") or []
    ran_run, ran_successes, _ = counts(result)
    ran_status = verdict(ran_run, ran_successes, int(result.get("degraded") or 0))
    previous = store.get_detail(store.attempts_key(report.id)) or {"testcases": []}
    detail = retries.merge(previous, result, number)
    tests_run, successes, failures, degraded = retries.counts(detail["testcases"])
    status = verdict(tests_run, successes, degraded)
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


def reap(*, clock: Clock) -> int:
    """Reports `running` past the limit (the worker died, e.g. Lambda's timeout) or `queued`
    past theirs (their job dead-lettered) become `error`. Queries the sparse `active` index."""
    settings = get_settings()
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


def handle_message(payload: dict, *, runner: Runner, clock: Clock, budget_seconds: float | None) -> object:
    """Dispatch one runs-queue message. `budget_seconds`: what the invocation has left for running
    test cases (None: no limit but the run's deadline)."""
    from chalicelib.runs.extensions import handler_for

    handler = handler_for(payload)  # another feature's kind: schedules' firings
    if handler is not None:
        return handler(payload)
    kind = payload.get("kind", "run")
    if kind == "run":
        return handle_run(payload["report_id"], runner=runner, clock=clock, budget_seconds=budget_seconds)
    if kind == retries.ATTEMPT_KIND:
        return handle_attempt(payload["report_id"], int(payload["attempt"]), runner=runner, clock=clock,
                              budget_seconds=budget_seconds, previous=payload.get("previous"),
                              due=payload.get("due"))
    if kind == "chunk":
        return handle_chunk(payload["report_id"], int(payload["chunk"]), list(payload["testcase_ids"]),
                            runner=runner, clock=clock, budget_seconds=budget_seconds)
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
