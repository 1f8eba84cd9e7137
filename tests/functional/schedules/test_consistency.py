"""A Scheduler (or DynamoDB) failure midway leaves the record and the schedules consistent."""
from __future__ import annotations

import pytest

from chalicelib.core.clock import utcnow
from chalicelib.core.errors import Conflict, ServiceUnavailable
from chalicelib.schedules import service
from chalicelib.schedules.gateway import default_gateway
from chalicelib.schedules.models import Task
from chalicelib.schedules.schemas import TaskCreate, TaskPatch
from tests.functional.schedules.conftest import FlakyGateway, schedules


def held_state(aws) -> dict[str, tuple[str, str]]:
    return {name: (s["ScheduleExpression"], s["State"]) for name, s in schedules(aws).items()}


def claimed(task_id: str) -> list[str]:
    return list(Task.get(task_id, consistent_read=True).schedule_names)


@pytest.fixture
def alice(api):
    return api()


def test_create_failing_on_the_second_schedule_leaves_nothing(alice, aws):
    project = alice.project()
    flaky = FlakyGateway(default_gateway(), fail_on=2)
    with pytest.raises(ServiceUnavailable):
        service.create_task(alice.user, TaskCreate(name="t", project_id=project, crontab="0 0 13 * 5"),
                            gateway=flaky, clock=utcnow)
    assert flaky.calls == ["create", "create", "delete"]  # the first one was undone
    assert schedules(aws) == {}
    assert alice.get("/tasks").body["items"] == []
    assert alice.task(project, name="t").status == 201  # the name was never claimed


def test_create_whose_record_cannot_be_written_removes_its_schedules(alice, aws, monkeypatch):
    from chalicelib.core import db as store

    project = alice.project()

    def broken(self, **kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(store.Tx, "commit", broken)
    with pytest.raises(RuntimeError):
        service.create_task(alice.user, TaskCreate(name="t", project_id=project, crontab="* * * * *"),
                            gateway=default_gateway(), clock=utcnow)
    assert schedules(aws) == {}


def test_patch_failing_midway_restores_the_schedules_and_keeps_the_record(alice, aws):
    task = alice.task(alice.project(), crontab="30 9 * * *").body
    before = held_state(aws)
    # 1 -> 2 schedules: update the first (ok), create the second (fails), undo the first.
    flaky = FlakyGateway(default_gateway(), fail_on=2)
    with pytest.raises(ServiceUnavailable):
        service.update_task(alice.user, task["id"], TaskPatch(crontab="0 0 13 * 5"), gateway=flaky,
                            clock=utcnow)
    assert flaky.calls[:2] == ["update", "create"]
    assert held_state(aws) == before
    assert sorted(claimed(task["id"])) == sorted(before)
    assert alice.get(f"/tasks/{task['id']}").body["crontab"] == "30 9 * * *"


def test_patch_whose_transaction_is_cancelled_undoes_its_scheduler_calls(alice, aws, monkeypatch):
    project = alice.project()
    task = alice.task(project, crontab="0 0 13 * 5").body
    before = held_state(aws)
    real_commit = service.Tx.commit

    def someone_else_first(self, **kwargs):
        # Another request changes the task between our read and our write.
        Task.get(task["id"]).update(actions=[Task.version.add(1)])
        return real_commit(self, **kwargs)

    monkeypatch.setattr(service.Tx, "commit", someone_else_first)
    with pytest.raises(Conflict):
        service.update_task(alice.user, task["id"], TaskPatch(crontab="0 6 * * *", enabled=False),
                            gateway=default_gateway(), clock=utcnow)
    assert held_state(aws) == before  # the second schedule recreated, the first restored
    assert sorted(claimed(task["id"])) == sorted(before)


def test_delete_failing_midway_recreates_what_it_removed(alice, aws):
    task = alice.task(alice.project(), crontab="0 0 13 * 5").body
    before = held_state(aws)
    flaky = FlakyGateway(default_gateway(), fail_on=2)
    with pytest.raises(ServiceUnavailable):
        service.delete_task(alice.user, task["id"], gateway=flaky)
    assert held_state(aws) == before
    assert alice.get(f"/tasks/{task['id']}").status == 200
    assert alice.get(f"/tasks/{task['id']}").body["schedule"]["state"] == "ENABLED"


def test_a_scheduler_outage_is_a_503_with_retry_after_through_the_api(alice, aws, monkeypatch):
    from chalicelib.schedules import gateway, routes

    project = alice.project()
    flaky = FlakyGateway(default_gateway(), fail_ops=("create",))
    monkeypatch.setattr(routes, "default_gateway", lambda: flaky)  # what the route makes
    answer = alice.task(project)
    assert answer.status == 503 and answer.error["code"] == gateway.SchedulerUnavailable.code
    assert alice.get("/tasks").body["items"] == [] and schedules(aws) == {}


def test_when_the_undo_itself_fails_reconcile_repairs_it(alice, aws):
    from chalicelib.schedules.reconcile import reconcile

    task = alice.task(alice.project(), crontab="0 0 13 * 5").body
    before = held_state(aws)
    # delete #1 ok, delete #2 fails, recreating #1 fails too: the record claims a missing schedule.
    flaky = FlakyGateway(default_gateway(), fail_ops=())
    flaky.fail_on = 2
    original = flaky.real.create

    def create_fails(schedule):
        raise ServiceUnavailable("down", retry_after_seconds=1)

    flaky.real.create = create_fails
    with pytest.raises(ServiceUnavailable):
        service.delete_task(alice.user, task["id"], gateway=flaky)
    flaky.real.create = original
    assert len(schedules(aws)) == 1
    repairs = reconcile(gateway=default_gateway(), clock=utcnow)
    assert repairs.created == [f"task-{task['id']}-0"]
    assert held_state(aws) == before
