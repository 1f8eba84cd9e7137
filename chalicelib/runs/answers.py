"""What the runs, reports and dashboard routes answer (see core/answers.py)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from chalicelib.core.answers import Answer, Page, Time

DASHBOARD_DAYS = 12


class RunQueued(Answer):
    """A run is queued: poll GET /reports/{report_id}."""

    report_id: str
    status: Literal["queued"]


class ValidatorResult(Answer):
    check: Any
    comparator: str
    result: Literal["pass", "fail"]


class StepResult(Answer):
    name: str
    success: bool
    status_code: int | None
    elapsed_ms: float  # the step's response time
    validators: list[ValidatorResult]
    error: str | None = None
    degraded: bool = False  # passed, slower than its degraded_response_ms


class TestcaseResult(Answer):
    name: str
    success: bool
    steps: list[StepResult]
    error: str | None = None
    degraded: bool = False  # passed, some step degraded


class Notification(Answer):
    """One named recipient of a finished report: queued, or why not (`reason`)."""

    channel: Literal["email", "sms"]
    to: str  # masked address, or a member's username
    outcome: Literal["queued", "not_a_member", "not_confirmed", "pending_confirmation", "unsubscribed",
                     "owner_left", "daily_limit"]
    reason: str | None = None


class AlertOutcome(Answer):
    """What became of one alert channel's message for this report."""

    alert_id: str
    type: str
    outcome: Literal["queued", "delivered", "failed", "suppressed", "removed", "not_a_member",
                     "not_confirmed", "pending_confirmation", "unsubscribed", "owner_left", "daily_limit"]
    error: str | None = None


class Timings(Answer):
    """A run's response times over every request answered (nearest-rank percentiles)."""

    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class RetryPolicy(Answer):
    """Retries of a failed run (runs/retries.py): extra attempts, backoff, base delay, budget."""

    attempts: int
    backoff: Literal["fixed", "linear", "exponential"]
    delay_seconds: int
    max_total_seconds: int


class Attempt(Answer):
    """One attempt of a run with a retry policy: what ran in it and how it went."""

    attempt: int
    status: Literal["passed", "degraded", "failed"]
    started_at: Time
    finished_at: Time
    duration_ms: int
    tests_run: int
    successes: int
    failed_testcases: list[str]  # test case ids; the next attempt runs these
    delay_seconds: int | None = None  # a failed attempt followed by another: the wait
    next_attempt_at: Time | None = None


class SyncError(Answer):
    code: str  # source_unreachable, source_refused, source_too_large, invalid_document, ...
    message: str


class ModuleSync(Answer):
    """One module's re-sync before the run: counts of test cases added, replaced and kept as a
    user edited them, and of operations removed from the source; or why it could not be done."""

    module_id: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    kept_edited: int = 0
    error: SyncError | None = None


class ReportSummary(Answer):
    """A report without its detail."""

    id: str
    project_id: str
    name: str
    status: Literal["queued", "running", "passed", "degraded", "failed", "error"]
    trigger: Literal["manual", "schedule", "webhook"]
    task_id: str | None
    started_by: str | None = None  # the id of the user who started a manual run
    environment: str | None
    tests_run: int
    successes: int
    failures: int
    created_at: Time
    started_at: Time | None
    finished_at: Time | None
    duration_ms: int | None
    timings: Timings | None = None  # once finished: its responses' times
    error: str | None = None  # why a report is "error"
    notifications: list[Notification] = []  # once decided: who was sent what, and who not, why
    alerts: list[AlertOutcome] = []  # per alert channel: queued, delivered, failed, suppressed
    origin: dict[str, Any] | None = None  # GitHub/GitLab webhook runs: provider, event, ref, sha
    retries: RetryPolicy | None = None  # the run's retry policy (its task's, or its body's)
    attempts: list[Attempt] = []  # with a retry policy: every attempt, the final one last
    import_sync: list[ModuleSync] | None = None  # a task's re-sync of its imports before the run


class Report(ReportSummary):
    """A report with its detail: test cases, steps, validators (empty until it finishes)."""

    testcases: list[TestcaseResult]
    detail_expired: bool = False


class Outcome(Answer):
    report_id: str
    status: Literal["passed", "degraded", "failed", "error"]
    duration_ms: int
    finished_at: Time | None


class History(Answer):
    """The last 50 outcomes, newest first; `flaky`: both outcomes among the last 10 of the same
    test case version; `failing_since`: the first finish of the current failing streak."""

    items: list[Outcome] = Field(max_length=50)
    flaky: bool
    failing_since: Time | None


class ReportPage(Page[ReportSummary]):
    """A project's reports, newest first."""


class DebugReport(Answer):
    """A finished run of an unsaved test case; nothing is stored, so it has no id."""

    status: Literal["passed", "degraded", "failed"]
    trigger: Literal["debug"]
    project_id: str
    tests_run: int
    successes: int
    failures: int
    duration_ms: float
    testcases: list[TestcaseResult]


class Day(Answer):
    date: dt.date
    pass_: int = Field(alias="pass")
    fail: int
    degraded: int = 0  # of those that passed, slower than their degraded_response_ms
    percent: float


class Dashboard(Answer):
    """Totals over the caller's projects and 12 days of pass/fail, oldest first, today last."""

    projects: int
    modules: int
    testcases: int
    timezone: str
    days: list[Day] = Field(min_length=DASHBOARD_DAYS, max_length=DASHBOARD_DAYS)


class WebhookSecret(Answer):
    """The project's new CI webhook secret (shown this once); the previous one verifies until
    previous_valid_until."""

    project_id: str
    secret: str
    rotated_at: Time
    previous_valid_until: Time


class HookRunQueued(RunQueued):
    """A GitHub/GitLab delivery matched a rule: its run is queued."""

    rule: int
    event: str


class HookIgnored(Answer):
    """The delivery starts nothing: a ping ({"ok": true}), or `ignored` says why."""

    ignored: str | None = None
    duplicate: bool = False


class HookRules(Answer):
    """The rules GitHub/GitLab deliveries are matched against, first match wins; `default`:
    the project has none of its own."""

    project_id: str
    rules: list[dict[str, Any]]
    default: bool
    github_token: bool = False  # a token is set: GitHub-started runs post a commit status


class GithubTokenSet(Answer):
    """A GitHub token is set for commit statuses (never shown back)."""

    project_id: str
    github_token: Literal[True]
    set_at: Time
