"""The reconcile cron: a pause or resume by hand in the console, drift, orphans."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.core.clock import utcnow
from chalicelib.schedules.gateway import default_gateway
from chalicelib.schedules.reconcile import reconcile
from tests.functional.schedules.conftest import schedules


def console_set_state(aws, name: str, state: str) -> None:
    """What the AWS console does: UpdateSchedule with everything as it was but the State."""
    scheduler = aws("scheduler")
    held = scheduler.get_schedule(GroupName="hat-dev", Name=name)
    scheduler.update_schedule(
        Name=name, GroupName="hat-dev", ScheduleExpression=held["ScheduleExpression"],
        ScheduleExpressionTimezone=held["ScheduleExpressionTimezone"],
        FlexibleTimeWindow=held["FlexibleTimeWindow"], Target=held["Target"], State=state)


def test_reconcile_picks_up_a_console_pause_and_resume(api, aws):
    alice = api()
    task = alice.task(alice.project(), crontab="0 0 13 * 5").body
    first, second = f"task-{task['id']}-0", f"task-{task['id']}-1"
    console_set_state(aws, first, "DISABLED")
    assert alice.get(f"/tasks/{task['id']}").body["schedule"]["state"] == "PARTLY_DISABLED"

    repairs = reconcile(gateway=default_gateway(), clock=utcnow)
    assert repairs.adopted == {task["id"]: False} and repairs.rewritten == [second]
    assert {s["State"] for s in schedules(aws).values()} == {"DISABLED"}
    assert alice.get("/tasks").body["items"][0]["enabled"] is False
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["enabled"] is False and shown["schedule"]["state"] == "DISABLED"

    console_set_state(aws, first, "ENABLED")
    console_set_state(aws, second, "ENABLED")
    assert reconcile(gateway=default_gateway(), clock=utcnow).adopted == {task["id"]: True}
    assert alice.get(f"/tasks/{task['id']}").body["enabled"] is True
    assert reconcile(gateway=default_gateway(), clock=utcnow).adopted == {}  # settled


def test_a_patch_keeps_a_console_pause(api, aws):
    alice = api()
    task = alice.task(alice.project()).body
    console_set_state(aws, f"task-{task['id']}-0", "DISABLED")
    patched = alice.patch(f"/tasks/{task['id']}", {"crontab": "0 7 * * *"}).body
    assert patched["enabled"] is False
    assert schedules(aws)[f"task-{task['id']}-0"]["State"] == "DISABLED"


def test_reconcile_repairs_missing_and_drifted_schedules_and_removes_orphans(api, aws):
    alice = api()
    project = alice.project()
    kept = alice.task(project, name="kept").body
    drifted = alice.task(project, name="drifted").body
    scheduler = aws("scheduler")
    scheduler.delete_schedule(GroupName="hat-dev", Name=f"task-{kept['id']}-0")
    held = scheduler.get_schedule(GroupName="hat-dev", Name=f"task-{drifted['id']}-0")
    scheduler.update_schedule(Name=f"task-{drifted['id']}-0", GroupName="hat-dev",
                              ScheduleExpression="cron(0 3 * * ? *)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=held["Target"], State="ENABLED")
    orphan = f"task-{'f' * 32}-0"
    scheduler.create_schedule(Name=orphan, GroupName="hat-dev", ScheduleExpression="cron(0 1 * * ? *)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=held["Target"])

    # The orphan is younger than the grace period: maybe a create in flight.
    repairs = reconcile(gateway=default_gateway(), clock=utcnow)
    assert repairs.created == [f"task-{kept['id']}-0"] and repairs.rewritten == [f"task-{drifted['id']}-0"]
    assert orphan in schedules(aws)
    repairs = reconcile(orphan_grace=timedelta(0), gateway=default_gateway(), clock=utcnow)
    assert repairs.deleted == [orphan] and not repairs.created and not repairs.rewritten
    held = schedules(aws)
    assert sorted(held) == sorted([f"task-{kept['id']}-0", f"task-{drifted['id']}-0"])
    assert held[f"task-{drifted['id']}-0"]["ScheduleExpression"] == "cron(30 9 * * ? *)"


def test_reconcile_removes_tasks_of_a_deleted_project(api, aws):
    alice = api()
    project = alice.project()
    task = alice.task(project).body
    assert alice.delete(f"/projects/{project}").status in (202, 204)
    assert reconcile(gateway=default_gateway(), clock=utcnow).removed_tasks == [task["id"]]
    assert schedules(aws) == {}
    assert alice.get("/tasks").body["items"] == []
    # its name claim and the project's task index went with it
    assert aws("dynamodb").scan(TableName="hat-dev-task-names")["Items"] == []


def test_the_cron_is_registered_and_runs_through_the_handler(app, aws, api):
    from chalice.test import Client

    alice = api()
    task = alice.task(alice.project()).body
    console_set_state(aws, f"task-{task['id']}-0", "DISABLED")
    with Client(app, stage_name="local") as client:
        client.lambda_.invoke("tasks_reconcile", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert alice.get(f"/tasks/{task['id']}").body["enabled"] is False


def test_reconcile_rewrites_schedules_whose_input_has_no_scheduled_time(api, aws):
    """Schedules written before the Input carried `scheduled_time` get it at the next round."""
    import json

    alice = api()
    task = alice.task(alice.project()).body
    name = f"task-{task['id']}-0"
    scheduler = aws("scheduler")
    held = scheduler.get_schedule(GroupName="hat-dev", Name=name)
    old = {**held["Target"], "Input": json.dumps({"task_id": task["id"], "trigger": "schedule"})}
    scheduler.update_schedule(Name=name, GroupName="hat-dev", ScheduleExpression=held["ScheduleExpression"],
                              ScheduleExpressionTimezone=held["ScheduleExpressionTimezone"],
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=old, State="ENABLED")
    assert reconcile(gateway=default_gateway(), clock=utcnow).rewritten == [name]
    rewritten = json.loads(schedules(aws)[name]["Target"]["Input"])
    assert (rewritten["scheduled_time"], rewritten["kind"]) == ("<aws.scheduler.scheduled-time>", "fire")
    assert reconcile(gateway=default_gateway(), clock=utcnow).rewritten == []  # settled
