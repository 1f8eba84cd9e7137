"""Runs tables: reports, per-project daily counters, per-project run settings.

- `reports`      id -> one run's summary (status, counts, times, trigger, task). The full
                 detail is gzip JSON in S3 (`details/<id>.json.gz`), never here.
                 Index `by-project` (project_id, sort_key): a project's reports, newest first.
                 Index `active` (active, active_since), sparse: only `queued`/`running` reports
                 carry `active`, so the reaper Queries the few live ones, never Scans. A run
                 waiting for its next attempt (runs/retries.py) is `running`, `active_since`
                 that attempt's due time.
- `run-stats`    (project_id, period) -> atomic counters per UTC quarter-hour: `t<q>` test
                 cases run and `s<q>` successes, where q = epoch seconds // 900 and a period is
                 16 days of quarters. Any time zone's midnight falls on a quarter hour, so a
                 user's 12 local days are exact unions of quarters (half-open), read from at
                 most 2 items per project, whatever the number of reports.
- `run-settings` key -> the last outcome and failure streak per notification stream
                 ("outcome#<task or project>") for recovery notices and alert policies, when
                 each alert channel last alerted ("alert#<stream>#<channel>"), and the last 50
                 outcomes per task and test case ("history#<task|testcase>#<id>",
                 runs/history.py). (The CI webhook secret's salt is on the project item: one
                 GetItem verifies a webhook.)
"""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core.db import table_meta

QUEUED = "queued"
RUNNING = "running"
PASSED = "passed"
FAILED = "failed"
DEGRADED = "degraded"  # every test case passed, some slower than their degraded_response_ms
ERROR = "error"
FINAL = frozenset({PASSED, DEGRADED, FAILED, ERROR})
PASSING = frozenset({PASSED, DEGRADED})
QUARTER_SECONDS = 900
PERIOD_QUARTERS = 16 * 96  # 16 days of quarter hours per run-stats item


class ReportsByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-project"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class ActiveReports(GlobalSecondaryIndex):
    """Sparse: queued and running reports only (the reaper's view)."""

    class Meta:
        index_name = "active"
        projection = KeysOnlyProjection()

    active = UnicodeAttribute(hash_key=True)
    active_since = UnicodeAttribute(range_key=True)


class Report(Model):
    Meta = table_meta("reports")

    id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    sort_key = UnicodeAttribute()  # "<created, microseconds>Z#<id>"
    status = UnicodeAttribute()
    trigger = UnicodeAttribute()  # manual | schedule | webhook
    task_id = UnicodeAttribute(null=True)
    started_by = UnicodeAttribute(null=True)  # user id
    name = UnicodeAttribute(default="")  # what ran: "project", a module or test case name
    environment = UnicodeAttribute(null=True)
    module_ids = ListAttribute(of=UnicodeAttribute, null=True)
    testcase_ids = ListAttribute(of=UnicodeAttribute, null=True)
    notify = JSONAttribute(null=True)
    notifications = JSONAttribute(null=True)  # [{"channel", "to" (masked), "outcome"}] once decided
    alerts = MapAttribute(null=True)  # alert channel id -> {"type", "outcome", "at"?, "error"?}
    callback_url = UnicodeAttribute(null=True)
    # What started a GitHub/GitLab webhook run: provider, event, delivery, repository, ref, sha.
    origin = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    duration_ms = NumberAttribute(null=True)
    timings = JSONAttribute(null=True)  # {p50_ms, p95_ms, max_ms} of the run's responses
    tests_run = NumberAttribute(default=0)
    successes = NumberAttribute(default=0)
    failures = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)  # why the run could not happen (status error)
    chunk_count = NumberAttribute(null=True)  # fanned-out runs only
    chunks_done = UnicodeSetAttribute(null=True)  # chunk numbers already counted in
    chunk_ms = NumberAttribute(null=True)  # summed durations of the chunks
    has_detail = NumberAttribute(null=True)  # 1 once details/<id>.json.gz is written
    active = UnicodeAttribute(null=True)  # queued | running while live; removed when final
    active_since = UnicodeAttribute(null=True)
    # Retries of the whole run (runs/retries.py): the policy it started with, the attempt under
    # way (absent: the first) and each attempt's record.
    retries = JSONAttribute(null=True)
    attempt = NumberAttribute(null=True)
    attempts = JSONAttribute(null=True)
    # A task's re-sync of its imports just before this run (schedules: sync_imports), per module.
    import_sync = JSONAttribute(null=True)
    by_project = ReportsByProject()
    active_reports = ActiveReports()


class RunStats(Model):
    """Counters per UTC quarter hour; attributes `t<q>` (tests run) and `s<q>` (successes)."""

    Meta = table_meta("run-stats")

    project_id = UnicodeAttribute(hash_key=True)
    period = NumberAttribute(range_key=True)  # q // PERIOD_QUARTERS
    expires_at = TTLAttribute(null=True)


class RunSetting(Model):
    """"outcome#<task or project>": a stream's last outcomes and its failure streak;
    "alert#<stream>#<channel id>": when that alert channel last alerted (quiet windows)."""

    Meta = table_meta("run-settings")

    key = UnicodeAttribute(hash_key=True)
    last_report_id = UnicodeAttribute(null=True)  # outcome streams
    last_status = UnicodeAttribute(null=True)
    previous_status = UnicodeAttribute(null=True)
    failures = NumberAttribute(null=True)  # consecutive failed reports, this one included
    previous_failures = NumberAttribute(null=True)  # the streak before this report
    last_alert_at = UTCDateTimeAttribute(null=True)  # alert channels
    entries = JSONAttribute(null=True)  # "history#<task|testcase>#<id>": the last 50 outcomes, newest first
    failing_since = UnicodeAttribute(null=True)  # the current failing streak's first finish
    history_version = NumberAttribute(null=True)  # every history write checks and bumps it
