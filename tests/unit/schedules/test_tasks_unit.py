"""Task pieces without I/O: body validation, schedule names, next runs, undo order."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.validation import validate
from chalicelib.schedules.changes import Changes, compensating
from chalicelib.schedules.gateway import DISABLED, Schedule, schedule_name, task_id_of
from chalicelib.schedules.schemas import TaskCreate, TaskPatch
from chalicelib.schedules.service import next_runs

BASE = {"name": "nightly", "project_id": "p" * 32, "crontab": "30 9 * * *"}


def fields_of(body: dict, model=TaskCreate) -> dict:
    with pytest.raises(ValidationFailed) as error:
        validate(model, body)
    return error.value.fields


@pytest.mark.parametrize(("patch", "field", "message"), [
    ({"crontab": "0 24 * * *"}, "crontab", "hour: 24 is out of range 0-23"),
    ({"crontab": "* * * *"}, "crontab", "needs 5 fields (minute hour day-of-month month day-of-week), got 4"),
    ({"crontab": "0 0 30 2 *"}, "crontab", "day-of-month: never happens in the chosen months"),
    ({"crontab": "*/0 * * * *"}, "crontab", "minute: step '0' must be a positive number"),
    ({"timezone": "Asia/Shanghai "}, None, None),
    ({"timezone": "Europe/Atlantis"}, "timezone", None),
    ({"timezone": "localtime"}, "timezone", None),
    ({"notify": {"when": "often"}}, "notify.when", None),
    ({"notify": {"emails": ["a@b"]}}, "notify.emails[0]", None),
    ({"notify": {"mobiles": ["+0123"]}}, "notify.mobiles[0]", None),
    ({"notify": {"pager": []}}, "notify.pager", None),
    ({"module_ids": ["x"]}, "module_ids[0]", None),
    ({"module_ids": ["a" * 32] * 51}, "module_ids", None),
    ({"environment": "has space"}, "environment", None),
    ({"name": "  "}, "name", "must not be empty"),
    ({"colour": "red"}, "colour", None),
])
def test_bad_bodies_name_the_field(patch, field, message):
    body = {**BASE, **patch}
    if field is None:
        assert validate(TaskCreate, body).timezone == "Asia/Shanghai"
        return
    fields = fields_of(body)
    assert field in fields, fields
    if message:
        assert fields[field] == message


def test_good_body_defaults_and_dedupes():
    body = validate(TaskCreate, {**BASE, "module_ids": ["a" * 32, "a" * 32],
                                 "notify": {"emails": ["qa@example.com"], "when": "always"}})
    assert body.module_ids == ["a" * 32] and body.enabled is True and body.timezone is None
    assert body.notify.model_dump() == {"emails": ["qa@example.com"], "mobiles": [], "when": "always"}
    assert validate(TaskCreate, {**BASE, "crontab": "@daily"}).crontab == "@daily"
    patch = validate(TaskPatch, {"enabled": False})
    assert patch.model_fields_set == {"enabled"}


def test_schedule_names_fit_aws_and_round_trip():
    name = schedule_name("0123456789abcdef" * 2, 1)
    assert len(name) <= 64 and all(c.isalnum() or c in "-_." for c in name)
    assert task_id_of(name) == "0123456789abcdef" * 2
    assert task_id_of("someone-else") is None


def test_next_runs_merge_two_schedules_in_the_task_zone_and_skip_disabled():
    after = datetime(2026, 3, 1, tzinfo=UTC)  # a Sunday
    tid = "a" * 32
    both = [Schedule("n0", tid, "cron(0 0 13 * ? *)", "America/New_York"),
            Schedule("n1", tid, "cron(0 0 ? * 6 *)", "America/New_York")]
    assert next_runs(both, "America/New_York", after) == [
        "2026-03-06T00:00:00-05:00", "2026-03-13T00:00:00-04:00", "2026-03-20T00:00:00-04:00"]
    paused = [Schedule("n0", tid, "cron(0 0 13 * ? *)", "UTC", DISABLED)]
    assert next_runs(paused, "UTC", after) == []


class RecordingGateway:
    def __init__(self) -> None:
        self.log: list[str] = []

    def create(self, s):
        self.log.append(f"create {s.name}")

    def update(self, s):
        self.log.append(f"update {s.name} {s.expression}")

    def put(self, s):
        self.log.append(f"put {s.name} {s.expression}")

    def delete(self, name):
        self.log.append(f"delete {name}")


def test_compensating_undoes_in_reverse_order_and_reraises():
    gateway = RecordingGateway()
    old = Schedule("n0", "t", "cron(1 * * * ? *)", "UTC")
    new = Schedule("n0", "t", "cron(2 * * * ? *)", "UTC")
    with pytest.raises(RuntimeError), compensating(gateway) as changes:
        changes.update(new, old)
        changes.create(Schedule("n1", "t", "cron(3 * * * ? *)", "UTC"))
        changes.delete(Schedule("n2", "t", "cron(4 * * * ? *)", "UTC"))
        raise RuntimeError("the transaction was cancelled")
    assert gateway.log == ["update n0 cron(2 * * * ? *)", "create n1", "delete n2",
                           "put n2 cron(4 * * * ? *)", "delete n1", "put n0 cron(1 * * * ? *)"]


def test_a_failing_undo_is_reported_and_the_rest_still_undone():
    gateway = RecordingGateway()
    changes = Changes(gateway)
    changes.create(Schedule("n0", "t", "cron(1 * * * ? *)", "UTC"))
    changes.create(Schedule("n1", "t", "cron(1 * * * ? *)", "UTC"))

    def broken(name):
        if name == "n1":
            raise RuntimeError("down")
        gateway.log.append(f"delete {name}")

    gateway.delete = broken
    assert changes.rollback() == ["delete n1"]
    assert gateway.log[-1] == "delete n0"


def test_the_local_scheduler_replaces_context_attributes_as_aws_does():
    from infra.local.scheduler import with_context_attributes

    payload = ('{"task_id":"t","trigger":"schedule","scheduled_time":"<aws.scheduler.scheduled-time>",'
               '"arn":"<aws.scheduler.schedule-arn>","attempt":"<aws.scheduler.attempt-number>",'
               '"execution":"<aws.scheduler.execution-id>"}')
    import json

    out = json.loads(with_context_attributes(
        payload, scheduled_time=datetime(2026, 11, 24, 1, 30, 0, 250000, tzinfo=UTC),
        schedule_arn="arn:aws:scheduler:us-east-1:123456789012:schedule/hat-dev/task-t-0", execution_id="e1"))
    assert out == {"task_id": "t", "trigger": "schedule", "scheduled_time": "2026-11-24T01:30:00Z",
                   "arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/hat-dev/task-t-0",
                   "attempt": "1", "execution": "e1"}
    assert with_context_attributes('{"a": 1}', scheduled_time=datetime(2026, 1, 1, tzinfo=UTC),
                                   schedule_arn="x") == '{"a": 1}'


@pytest.mark.parametrize(("scheduled_time", "key"), [
    ("2026-11-24T01:30:00Z", "fire:t1:2026-11-24T01:30:00Z"),
    (None, None),
    ("", None),
    ("<aws.scheduler.scheduled-time>", None),
    (1234, None),
])
def test_a_firing_is_keyed_by_task_and_scheduled_time(scheduled_time, key):
    from chalicelib.schedules.service import firing_key

    assert firing_key("t1", scheduled_time) == key


def test_an_old_input_is_a_different_definition():
    old = Schedule("task-t-0", "t", "cron(0 1 * * ? *)", "UTC", input='{"task_id":"t","trigger":"schedule"}')
    new = Schedule("task-t-0", "t", "cron(0 1 * * ? *)", "UTC")
    assert not new.same_definition(old)
    without_kind = ('{"task_id":"t","trigger":"schedule","scheduled_time":"<aws.scheduler.scheduled-time>"}')
    assert not new.same_definition(Schedule("task-t-0", "t", "cron(0 1 * * ? *)", "UTC", input=without_kind))
    reordered = ('{"scheduled_time": "<aws.scheduler.scheduled-time>", "trigger": "schedule", '
                 '"task_id": "t", "kind": "fire"}')
    assert new.same_definition(Schedule("task-t-0", "t", "cron(0 1 * * ? *)", "UTC", input=reordered))
