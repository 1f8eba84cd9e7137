"""The EventBridge Scheduler edge: schedules of the stage's group, boto3 errors translated here.

A schedule fires `{"kind": "fire", "task_id": ..., "trigger": "schedule", "scheduled_time": ...}`
into the runs queue as the Scheduler role (the Scheduler puts the firing's time in place of the
`<aws.scheduler.scheduled-time>` context attribute, so a redelivered firing is recognised),
exactly at its time (FlexibleTimeWindow OFF), retried by the Scheduler and dead-lettered to
the runs DLQ when it cannot deliver. Services take the gateway as a required keyword, made by
the routes and the reconcile cron (`default_gateway()`), so tests hand theirs and can make any
call fail.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.core.errors import ServiceUnavailable

logger = logging.getLogger("hat.schedules")

ENABLED = "ENABLED"
DISABLED = "DISABLED"
# The Scheduler retries a failed delivery for up to an hour, then dead-letters it.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
NAME_PREFIX = "task-"
# The runs-queue message kind of a firing (schedules/jobs.py registers its handler with runs).
FIRE_KIND = "fire"
# EventBridge Scheduler context attributes: replaced in a target's Input at each invocation
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # e.g. 2022-03-22T18:59:43Z
SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"
EXECUTION_ID = "<aws.scheduler.execution-id>"
ATTEMPT_NUMBER = "<aws.scheduler.attempt-number>"


def schedule_name(task_id: str, index: int) -> str:
    """'task-<32 hex>-<n>': 39 characters of [0-9a-zA-Z-_.], within AWS's 64."""
    return f"{NAME_PREFIX}{task_id}-{index}"


def task_id_of(name: str) -> str | None:
    if not name.startswith(NAME_PREFIX):
        return None
    task_id, _, index = name[len(NAME_PREFIX):].rpartition("-")
    return task_id if task_id and index.isdigit() else None


class SchedulerUnavailable(ServiceUnavailable):
    code = "scheduler_unavailable"

    def __init__(self, message: str = "the scheduler did not answer; try again", **kwargs) -> None:
        super().__init__(message, retry_after_seconds=kwargs.pop("retry_after_seconds", 2), **kwargs)


class ScheduleExists(SchedulerUnavailable):
    code = "schedule_exists"


@dataclass(frozen=True)
class Schedule:
    """What we ask of one schedule (and what AWS holds, read back)."""

    name: str
    task_id: str
    expression: str
    timezone: str
    state: str = ENABLED
    created_at: datetime | None = None
    input: str | None = None  # as AWS holds it (None: ours)

    def payload(self) -> str:
        return json.dumps({"kind": FIRE_KIND, "task_id": self.task_id, "trigger": "schedule",
                           "scheduled_time": SCHEDULED_TIME}, separators=(",", ":"))

    def same_definition(self, other: Schedule) -> bool:
        """Same expression, zone and target Input (compared as JSON): a schedule written before
        the Input carried `scheduled_time` or `kind` differs, so reconcile rewrites it."""
        return (self.expression, self.timezone, _parsed(self.payload())) == (
            other.expression, other.timezone, _parsed(other.input or other.payload()))


def _parsed(payload: str) -> object:
    try:
        return json.loads(payload)
    except ValueError:
        return payload


@dataclass(frozen=True)
class Summary:
    name: str
    state: str
    created_at: datetime | None


class SchedulerGateway:
    def __init__(self, client: Any, *, group: str, role_arn: str, queue_arn: str, dlq_arn: str) -> None:
        self.client = client
        self.group = group
        self.role_arn = role_arn
        self.queue_arn = queue_arn
        self.dlq_arn = dlq_arn

    def _request(self, schedule: Schedule) -> dict:
        return {
            "Name": schedule.name,
            "GroupName": self.group,
            "Description": f"hat task {schedule.task_id}",
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": schedule.timezone,
            "State": schedule.state,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": self.queue_arn,
                "RoleArn": self.role_arn,
                "Input": schedule.payload(),
                "RetryPolicy": dict(RETRY_POLICY),
                "DeadLetterConfig": {"Arn": self.dlq_arn},
            },
        }

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise
            if code == "ConflictException":
                raise ScheduleExists(f"{what}: the schedule exists already") from error
            logger.error("scheduler %s failed: %s", what, code or error)
            raise SchedulerUnavailable() from error
        except BotoCoreError as error:
            logger.error("scheduler %s failed: %s", what, error)
            raise SchedulerUnavailable() from error

    def create(self, schedule: Schedule) -> None:
        self._call("create", lambda: self.client.create_schedule(**self._request(schedule)))

    def update(self, schedule: Schedule) -> None:
        self._call("update", lambda: self.client.update_schedule(**self._request(schedule)))

    def put(self, schedule: Schedule) -> None:
        """Create, or replace if it exists."""
        try:
            self.create(schedule)
        except ScheduleExists:
            self.update(schedule)

    def delete(self, name: str) -> bool:
        """False if it was not there."""
        from botocore.exceptions import ClientError

        try:
            self._call("delete", lambda: self.client.delete_schedule(GroupName=self.group, Name=name))
        except ClientError:  # only ResourceNotFoundException gets here
            return False
        return True

    def get(self, name: str) -> Schedule | None:
        from botocore.exceptions import ClientError

        try:
            found = self._call("get", lambda: self.client.get_schedule(GroupName=self.group, Name=name))
        except ClientError:
            return None
        target = found.get("Target") or {}
        payload = target.get("Input") or "{}"
        try:
            task_id = json.loads(payload).get("task_id") or task_id_of(name) or ""
        except ValueError:
            task_id = task_id_of(name) or ""
        return Schedule(name=name, task_id=task_id, expression=found.get("ScheduleExpression", ""),
                        timezone=found.get("ScheduleExpressionTimezone") or "UTC",
                        state=found.get("State") or ENABLED, created_at=found.get("CreationDate"),
                        input=payload)

    def list(self, prefix: str = NAME_PREFIX) -> Iterator[Summary]:
        """Every schedule of the group whose name starts with `prefix`."""
        paginator = self.client.get_paginator("list_schedules")
        pages = self._call("list", lambda: list(paginator.paginate(GroupName=self.group, NamePrefix=prefix)))
        for page in pages:
            for item in page.get("Schedules", []):
                if item["Name"].startswith(prefix):
                    yield Summary(item["Name"], item.get("State") or ENABLED, item.get("CreationDate"))


def default_gateway() -> SchedulerGateway:
    from chalicelib.core.aws import get_client
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    return SchedulerGateway(get_client("scheduler"), group=settings.schedule_group,
                            role_arn=settings.scheduler_role_arn, queue_arn=settings.runs_queue_arn,
                            dlq_arn=settings.runs_dlq_arn)
