"""What the task routes answer (see core/answers.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.catalog.answers import AlertChannel
from chalicelib.core.answers import Answer, Page, Time
from chalicelib.runs.answers import History, ModuleSync, RetryPolicy


class TaskRecipients(Answer):
    users: list[str] = []
    emails: list[str]
    mobiles: list[str]
    when: Literal["never", "failure", "always"]


class LastReport(Answer):
    id: str
    status: str
    at: Time


class ImportSync(Answer):
    """What the re-sync before the report's run did, per module imported from a URL."""

    report_id: str
    at: Time
    modules: list[ModuleSync]


class Task(Answer):
    """A scheduled task: its crontab, time zone, recipients and what it did so far."""

    id: str
    project_id: str
    name: str
    module_ids: list[str]
    environment: str | None
    crontab: str
    timezone: str
    enabled: bool
    notify: TaskRecipients
    alerts: list[AlertChannel] = []  # [] : the project's channels apply
    retries: RetryPolicy | None = None  # retries of a failed run; null: none
    expressions: list[str]
    run_count: int
    last_report: LastReport | None
    sync_imports: bool = False
    last_import_sync: ImportSync | None = None
    created_at: Time
    updated_at: Time


class Schedule(Answer):
    """The task's EventBridge schedule(s) as AWS holds them, and the next three fire times."""

    expression: str | None
    expressions: list[str]
    state: str
    next_runs: list[Time] = Field(max_length=3)


class TaskWithSchedule(Task):
    """A task with its schedule as AWS holds it."""

    schedule: Schedule


class ListedTask(Task):
    """A task in the list; with ?include=history, its history too."""

    history: History | None = None


class TaskPage(Page[ListedTask]):
    """Tasks of the caller's projects, newest change first."""
