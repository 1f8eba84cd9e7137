"""Retries of a whole run (issue 20, item 4; Checkly's model): a failed run of a task with a
`retries` policy runs its failing test cases again after a backoff, and only the final verdict
finishes the report.

- Which runs: one that would finish `failed` because test cases failed. Not `error` (the run
  could not happen; the job's own redeliveries cover a crash), not `degraded` (everything
  passed, slowly: running it again tells nothing new). Not one whose results do not line up
  one to one with its test cases (parameterised cases: which to run again is unknown), nor one
  with more failing test cases than a chunk holds (HAT_RUN_CHUNK_SIZE: an outage, not a flake).
- When: retry k (attempt k + 1) waits `delay(k)` = fixed d, d, d; linear d, 2d, 3d; exponential
  d, 2d, 4d, each at most 900 s (SQS's longest DelaySeconds), up to `attempts` retries, and none
  whose due time lies more than `max_total_seconds` after the run started.
- How, without a sleeping Lambda: the report stays `running` (its `active_since` the next
  attempt's due time, so the reaper counts from there); the message `{"kind": "attempt",
  "report_id", "attempt"}` goes on the runs queue with that DelaySeconds, then one UpdateItem
  conditional on the attempt counter appends the attempt's record and moves the counter on.
  An attempt message runs only while the report is `running` at that attempt, under run_once:
  a redelivery, or one that arrives after the run moved on, does nothing. One that arrives
  while the counter is still one behind (the sender's update not committed yet, or never: its
  worker died after the send) writes that update itself from the record the message carries,
  under the same condition, so exactly one of the two lands and nothing waits for the reaper.
- What the report shows: `attempts` (each attempt's status, times, counts, failing test cases,
  and when the next was due), and a detail with every test case's latest result, a retried
  one carrying its failed results of earlier attempts under `earlier_attempts`. The detail
  merged so far waits in S3 between attempts (store.attempts_key). The final attempt finishes
  the report (store.finish: status, day counters) and only then do history, messages,
  alerts, the callback and the GitHub status see it, once.

Manual runs retry only when their body sets `retries` (a task's runs take the task's).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core.clock import isoformat
from chalicelib.runs.models import Report

MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds
DEFAULT_DELAY_SECONDS = 30
DEFAULT_BUDGET_SECONDS = 600
ATTEMPT_KIND = "attempt"


def enabled(policy: Mapping | None) -> bool:
    return bool(policy) and int(policy.get("attempts") or 0) > 0


def delay_seconds(policy: Mapping, retry: int) -> int:
    """The wait before retry number `retry` (1: the first retry, i.e. attempt 2)."""
    base = int(policy.get("delay_seconds") or DEFAULT_DELAY_SECONDS)
    factor = {"linear": retry, "exponential": 2 ** (retry - 1)}.get(policy.get("backoff") or "fixed", 1)
    return min(MAX_DELAY_SECONDS, base * factor)


def current_attempt(report: Report) -> int:
    return int(report.attempt or 1)


def at_attempt(number: int) -> Any:
    """The condition "the report is at attempt `number`" (the first has no counter yet)."""
    if number == 1:
        return Report.attempt.does_not_exist() | (Report.attempt == 1)
    return Report.attempt == number


def next_attempt(report: Report, now: datetime) -> tuple[int, int, datetime] | None:
    """(the next attempt's number, its delay, its due time) by the report's policy; None when
    the policy allows no more: its attempts are spent, or the next would be due past the budget."""
    policy = report.retries or {}
    retry = current_attempt(report)  # attempt n failed: this is retry n
    if not enabled(policy) or retry > int(policy["attempts"]):
        return None
    delay = delay_seconds(policy, retry)
    due = now + timedelta(seconds=delay)
    started = report.started_at or now
    if (due - started).total_seconds() > int(policy.get("max_total_seconds") or DEFAULT_BUDGET_SECONDS):
        return None
    return retry + 1, delay, due


def failing_ids(cases: list[Mapping], limit: int) -> list[str] | None:
    """The test cases to run again: those of the failed results; None when there are none, more
    than `limit`, or a failed result names no test case (see the module's docstring)."""
    failed = [case for case in cases if not case.get("success")]
    if not failed or any(not case.get("testcase_id") for case in failed):
        return None
    ids = list(dict.fromkeys(case["testcase_id"] for case in failed))
    return ids if len(ids) <= limit else None


def counts(cases: list[Mapping]) -> tuple[int, int, int, int]:
    """(tests run, successes, failures, degraded) of these results."""
    successes = sum(1 for case in cases if case.get("success"))
    degraded = sum(1 for case in cases if case.get("success") and case.get("degraded"))
    return len(cases), successes, len(cases) - successes, degraded


def record(number: int, status: str, cases: list[Mapping], *, started_at: datetime, finished_at: datetime,
           duration_ms: int) -> dict:
    """One attempt as the report lists it: what ran in it (not the merge) and how it went."""
    tests_run, successes, _failures, _degraded = counts(cases)
    failed = [case["testcase_id"] for case in cases if not case.get("success") and case.get("testcase_id")]
    return {"attempt": number, "status": status, "started_at": isoformat(started_at),
            "finished_at": isoformat(finished_at), "duration_ms": int(duration_ms), "tests_run": tests_run,
            "successes": successes, "failed_testcases": failed}


def merge(previous: Mapping, result: Mapping, number: int) -> dict:
    """The detail after attempt `number`: the previous detail with each test case that ran again
    replaced by its new result, which keeps the earlier (failed) ones under `earlier_attempts`."""
    fresh = {case["testcase_id"]: case for case in result.get("testcases") or [] if case.get("testcase_id")}
    merged = []
    for case in previous.get("testcases") or []:
        again = fresh.get(case.get("testcase_id"))
        if again is None:
            merged.append(case)
            continue
        earlier = {key: value for key, value in case.items() if key != "earlier_attempts"}
        merged.append({**again, "attempt": number, "earlier_attempts": [
            *case.get("earlier_attempts", []), {**earlier, "attempt": case.get("attempt", 1)}]})
    return {**previous, "testcases": merged}


def message(report_id: str, number: int, previous: Mapping | None = None, due: str | None = None) -> dict:
    """The runs-queue message of a report's attempt `number` (a fixed job id per attempt). It
    carries the previous attempt's record and the due time (`precise`) its sender is about to
    write, so the attempt can write them itself when the sender died before it did."""
    body: dict[str, Any] = {"kind": ATTEMPT_KIND, "report_id": report_id, "attempt": number,
                            "job_id": f"attempt-{report_id}-{number}"}
    if previous is not None and due is not None:
        body.update(previous=dict(previous), due=due)
    return body
