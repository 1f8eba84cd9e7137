"""Task CRUD against the emulator's Scheduler, read back with boto3."""
from __future__ import annotations

import json
import os

from chalicelib.core.clock import utcnow
from chalicelib.schedules.gateway import default_gateway
from tests.functional.schedules.conftest import schedules


def test_create_makes_one_schedule_as_aws_expects_and_get_shows_it(api, aws):
    alice = api()
    project = alice.project()
    module = alice.module(project)
    created = alice.task(project, module_ids=[module], environment="staging",
                         notify={"emails": ["qa@example.com"], "mobiles": ["+8613800138000"],
                                 "when": "failure"})
    assert created.status == 201, created.body
    task = created.body
    assert task["expressions"] == ["cron(30 9 * * ? *)"] and task["enabled"] is True
    held = schedules(aws)
    assert list(held) == [f"task-{task['id']}-0"]
    schedule = held[f"task-{task['id']}-0"]
    assert schedule["ScheduleExpression"] == "cron(30 9 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert schedule["State"] == "ENABLED"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == os.environ["HAT_RUNS_QUEUE_ARN"]
    assert target["RoleArn"] == os.environ["HAT_SCHEDULER_ROLE_ARN"]
    assert target["DeadLetterConfig"] == {"Arn": os.environ["HAT_RUNS_DLQ_ARN"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert json.loads(target["Input"]) == {"kind": "fire", "task_id": task["id"], "trigger": "schedule",
                                           "scheduled_time": "<aws.scheduler.scheduled-time>"}

    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["schedule"]["expression"] == "cron(30 9 * * ? *)"
    assert shown["schedule"]["state"] == "ENABLED"
    assert len(shown["schedule"]["next_runs"]) == 3
    assert all(run.endswith("T09:30:00+08:00") for run in shown["schedule"]["next_runs"])
    assert shown["run_count"] == 0 and shown["last_report"] is None
    assert shown["notify"] == {"emails": ["qa@example.com"], "mobiles": ["+8613800138000"], "when": "failure"}


def test_a_crontab_that_ors_the_day_fields_becomes_two_schedules(api, aws):
    alice = api()
    task = alice.task(alice.project(), crontab="0 0 13 * 5", timezone="America/New_York").body
    assert task["expressions"] == ["cron(0 0 13 * ? *)", "cron(0 0 ? * 6 *)"]
    assert sorted(schedules(aws)) == [f"task-{task['id']}-0", f"task-{task['id']}-1"]
    shown = alice.get(f"/tasks/{task['id']}").body["schedule"]
    assert shown["expressions"] == task["expressions"] and len(shown["next_runs"]) == 3


def test_default_timezone_and_bad_fields_are_400s_naming_the_field(api, aws):
    alice = api()
    project = alice.project()
    task = alice.post("/tasks", {"name": "t", "project_id": project, "crontab": "0 * * * *"})
    assert task.status == 201 and task.body["timezone"] == "Asia/Shanghai"
    cases = [
        ({"crontab": "0 24 * * *"}, "crontab", "hour: 24 is out of range 0-23"),
        ({"crontab": "0 0 * *"}, "crontab", None),
        ({"timezone": "Mars/Olympus"}, "timezone", None),
        ({"notify": {"when": "sometimes"}}, "notify.when", None),
        ({"notify": {"emails": ["nope"]}}, "notify.emails[0]", None),
        ({"notify": {"mobiles": ["12345"]}}, "notify.mobiles[0]", None),
        ({"environment": "prod"}, "environment", None),
        ({"module_ids": ["0" * 32]}, "module_ids[0]", None),
        ({"module_ids": ["not-an-id"]}, "module_ids[0]", None),
    ]
    for fields, name, message in cases:
        answer = alice.task(project, **{"name": f"bad {name}", **fields})
        assert answer.status == 400, (fields, answer.body)
        assert name in answer.error["fields"], (fields, answer.body)
        if message:
            assert answer.error["fields"][name] == message
    other = alice.project("other")
    foreign_module = alice.module(other)
    answer = alice.task(project, name="foreign", module_ids=[foreign_module])
    assert answer.status == 400 and "module_ids[0]" in answer.error["fields"]
    assert len(schedules(aws)) == 1  # the bad ones left nothing behind


def test_duplicate_names_are_409_case_insensitively_and_free_again_after_delete(api, aws):
    alice = api()
    project = alice.project()
    first = alice.task(project, name="Nightly")
    assert first.status == 201
    again = alice.task(project, name="nightly")
    assert again.status == 409 and again.error["code"] == "name_taken"
    assert len(schedules(aws)) == 1  # the loser's schedule was removed
    assert alice.task(alice.project("other"), name="nightly").status == 201  # per project
    assert alice.delete(f"/tasks/{first.body['id']}").status == 204
    assert alice.task(project, name="NIGHTLY").status == 201


def test_racing_creates_of_one_name_make_one_task_and_one_schedule(api, aws):
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.catalog.access import load_project
    from chalicelib.core.errors import Conflict
    from chalicelib.schedules import service
    from chalicelib.schedules.schemas import TaskCreate

    alice = api()
    project = alice.project()
    load_project(alice.user, project)
    body = TaskCreate(name="race", project_id=project, crontab="*/5 * * * *")

    def create(_):
        try:
            return service.create_task(alice.user, body, gateway=default_gateway(), clock=utcnow)["id"]
        except Conflict:
            return None

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(create, range(6)))
    winners = [r for r in results if r]
    assert len(winners) == 1
    assert list(schedules(aws)) == [f"task-{winners[0]}-0"]


def test_list_newest_change_first_with_name_and_project_filters_and_pages(api, aws):
    alice = api()
    shop, blog = alice.project("shop"), alice.project("blog")
    ids = {}
    for project, name in [(shop, "alpha"), (blog, "beta"), (shop, "alpine"), (blog, "gamma")]:
        ids[name] = alice.task(project, name=name).body["id"]
    listed = alice.get("/tasks").body
    assert [t["name"] for t in listed["items"]] == ["gamma", "alpine", "beta", "alpha"]
    assert alice.patch(f"/tasks/{ids['alpha']}", {"crontab": "0 1 * * *"}).status == 200
    assert [t["name"] for t in alice.get("/tasks").body["items"]][0] == "alpha"
    assert [t["name"] for t in alice.get(f"/tasks?project_id={shop}").body["items"]] == ["alpha", "alpine"]
    assert [t["name"] for t in alice.get("/tasks?name=ALP").body["items"]] == ["alpha", "alpine"]
    assert [t["name"] for t in alice.get(f"/tasks?name=g&project_id={blog}").body["items"]] == ["gamma"]
    seen, cursor = [], None
    while True:
        page = alice.get("/tasks?limit=1" + (f"&cursor={cursor}" if cursor else "")).body
        seen += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["alpha", "gamma", "alpine", "beta"]
    bad = alice.get(f"/tasks?project_id={shop}&cursor={alice.get('/tasks?limit=1').body['next_cursor']}")
    assert bad.status == 400 and "cursor" in bad.error["fields"]


def test_enable_disable_maps_to_schedule_state_and_delete_removes_everything(api, aws):
    alice = api()
    task = alice.task(alice.project(), crontab="0 0 13 * 5").body
    paused = alice.patch(f"/tasks/{task['id']}", {"enabled": False})
    assert paused.status == 200 and paused.body["enabled"] is False
    assert {s["State"] for s in schedules(aws).values()} == {"DISABLED"}
    shown = alice.get(f"/tasks/{task['id']}").body["schedule"]
    assert shown["state"] == "DISABLED" and shown["next_runs"] == []
    assert alice.patch(f"/tasks/{task['id']}", {"enabled": True}).body["enabled"] is True
    assert {s["State"] for s in schedules(aws).values()} == {"ENABLED"}
    assert alice.delete(f"/tasks/{task['id']}").status == 204
    assert schedules(aws) == {}
    assert alice.get(f"/tasks/{task['id']}").status == 404
    assert alice.get("/tasks").body["items"] == []


def test_patch_moves_the_schedule_and_can_edit_every_field(api, aws):
    alice = api()
    project = alice.project()
    module = alice.module(project)
    task = alice.task(project).body
    name0 = f"task-{task['id']}-0"
    patched = alice.patch(f"/tasks/{task['id']}", {
        "name": "renamed", "crontab": "15 8 * * 1-5", "timezone": "Europe/London",
        "module_ids": [module], "environment": "staging",
        "notify": {"emails": ["a@example.com"], "when": "always"}})
    assert patched.status == 200, patched.body
    body = patched.body
    assert (body["name"], body["crontab"], body["timezone"], body["module_ids"], body["environment"]) == (
        "renamed", "15 8 * * 1-5", "Europe/London", [module], "staging")
    held = schedules(aws)
    assert list(held) == [name0]
    assert held[name0]["ScheduleExpression"] == "cron(15 8 ? * 2-6 *)"
    assert held[name0]["ScheduleExpressionTimezone"] == "Europe/London"
    # grow to two schedules, then shrink back to one
    two = alice.patch(f"/tasks/{task['id']}", {"crontab": "0 0 1 * 0"}).body
    assert len(two["expressions"]) == 2 and len(schedules(aws)) == 2
    one = alice.patch(f"/tasks/{task['id']}", {"crontab": "0 6 * * *"}).body
    assert one["expressions"] == ["cron(0 6 * * ? *)"] and list(schedules(aws)) == [name0]
    # the old name is free, the new one taken; a bad crontab changes nothing
    assert alice.task(project).status == 201
    assert alice.task(project, name="Renamed").status == 409
    bad = alice.patch(f"/tasks/{task['id']}", {"crontab": "61 * * * *"})
    assert bad.status == 400 and bad.error["fields"] == {"crontab": "minute: 61 is out of range 0-59"}
    assert alice.patch(f"/tasks/{task['id']}", {"environment": None}).body["environment"] is None
    assert alice.patch(f"/tasks/{task['id']}", {"name": None}).status == 400


def test_tenant_isolation_everything_of_another_project_is_404(api, aws):
    alice, mallory = api("alice"), api("mallory")
    project = alice.project()
    task = alice.task(project).body
    for answer in [mallory.get(f"/tasks/{task['id']}"),
                   mallory.patch(f"/tasks/{task['id']}", {"enabled": False}),
                   mallory.delete(f"/tasks/{task['id']}"),
                   mallory.post(f"/tasks/{task['id']}/runs"),
                   mallory.task(project, name="mine now"),
                   mallory.get(f"/tasks?project_id={project}"),
                   mallory.get("/tasks/not-an-id")]:
        assert answer.status == 404, answer.body
    assert mallory.get("/tasks").body["items"] == []
    assert schedules(aws)[f"task-{task['id']}-0"]["State"] == "ENABLED"
