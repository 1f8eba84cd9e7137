"""Scheduled-task tables.

- `tasks`       id -> the task: what to run (project, modules, environment, notify), when
                (crontab, time zone, the AWS expressions and schedule names it claims), whether
                (enabled), and what happened (run_count, last_report). Index `by-project`
                (project_id, sort_key) lists a project's tasks, newest change first: sort_key
                is "<updated_at, microseconds>Z#<id>" and moves on every change.
- `task-names`  "<project_id>#<folded name>" -> task id: the claim that keeps a name unique per
                project, written in the same transaction as the task. The same table holds
                one index item per project, "index#<project_id>" (a key no claim can have:
                project ids are 32 hex digits): an attribute `t<task id>` =
                "<sort_key>#<folded name>" per task of the project, and `task_count`. Every
                create, change and delete of a task writes it in the task's transaction, so
                GET /tasks over all the caller's projects is one BatchGetItem of these items
                (which tasks, in which order) and one of the tasks shown, whatever the number
                of projects (up to 100 per BatchGetItem).
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.operand import Path
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.db import table_meta


class TasksByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-project"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class Task(Model):
    Meta = table_meta("tasks")

    id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    name = UnicodeAttribute()
    name_lc = UnicodeAttribute()
    module_ids = ListAttribute(of=UnicodeAttribute, default=list)  # empty: the whole project
    environment = UnicodeAttribute(null=True)
    crontab = UnicodeAttribute()
    timezone = UnicodeAttribute()
    expressions = ListAttribute(of=UnicodeAttribute, default=list)  # one or two cron(...)
    schedule_names = ListAttribute(of=UnicodeAttribute, default=list)  # the schedules it claims
    enabled = BooleanAttribute(default=True)
    notify = JSONAttribute(default=dict)  # {"emails", "mobiles", "when"}
    alerts = JSONAttribute(null=True)  # alert channels overriding the project's (notify/alerts.py)
    retries = JSONAttribute(null=True)  # {"attempts", "backoff", "delay_seconds", "max_total_seconds"}
    run_count = NumberAttribute(default=0)
    last_report = JSONAttribute(null=True)  # {"id", "status", "at"}
    version = NumberAttribute(default=0)  # every write checks and bumps it
    # Re-sync the modules' OpenAPI imports before each run (imports/service.py sync_before_run),
    # and what the last run's re-sync did: {"report_id", "at", "modules": [outcome per module]}.
    sync_imports = BooleanAttribute(default=False)
    last_import_sync = JSONAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sort_key = UnicodeAttribute()
    by_project = TasksByProject()


class TaskName(Model):
    Meta = table_meta("task-names")

    key = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute()


def name_key(project_id: str, name_lc: str) -> str:
    return f"{project_id}#{name_lc}"


INDEX_PREFIX = "index#"
ENTRY_PREFIX = "t"


class TaskIndex(Model):
    """A project's task list in one item (see the module's docstring); the entries are
    attributes named per task, read and written by name (`entry_attribute`)."""

    Meta = table_meta("task-names")

    key = UnicodeAttribute(hash_key=True)
    task_count = NumberAttribute(null=True)


def index_key(project_id: str) -> str:
    return f"{INDEX_PREFIX}{project_id}"


def entry_attribute(task_id: str) -> str:
    return f"{ENTRY_PREFIX}{task_id}"


def index_path(task_id: str) -> Path:
    """The task's entry in its project's index item, for update expressions and conditions."""
    return Path(entry_attribute(task_id))


def raw_index(project_id: str) -> dict[str, Any]:
    """A project's index item as DynamoDB answers it (attribute -> typed value; {} when the
    project has none): one consistent GetItem. Many projects at once: BatchGetItem of
    `index_key`s (schedules/service.py)."""
    from chalicelib.core.aws import get_client

    answer = get_client("dynamodb").get_item(TableName=TaskIndex.Meta.table_name, ConsistentRead=True,
                                             Key={"key": {"S": index_key(project_id)}})
    return answer.get("Item") or {}


def index_entry(sort_key: str, name_lc: str) -> str:
    return f"{sort_key}#{name_lc}"


def parse_entry(value: str) -> tuple[str, str, str]:
    """(sort_key, task id, folded name) of an index entry."""
    moment, task_id, name_lc = value.split("#", 2)
    return f"{moment}#{task_id}", task_id, name_lc
