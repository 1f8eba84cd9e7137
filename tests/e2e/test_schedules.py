"""Scheduled tasks against the local stack as `make dev` runs it: the scheduler emulator on
the real clock fires a every-minute task into the runs queue, the runs worker starts a run
with trigger "schedule"; disabled, its schedule stops (State DISABLED, no next runs)."""
from __future__ import annotations

import json
import os
import time

from tests.e2e.test_catalog import signed_in

FIRE_TIMEOUT_SECONDS = 70


def test_a_task_every_minute_fires_a_scheduled_run_and_stops_when_disabled(stack, http):
    headers = signed_in(stack, http)
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5,
                        json={"name": f"cron {os.urandom(2).hex()}"}).json()["id"]
    module = http.post(f"{stack.url}/projects/{project}/modules", headers=headers, timeout=5,
                       json={"name": "health"}).json()["id"]
    case = {"config": {"name": "health", "base_url": stack.url},
            "teststeps": [{"name": "health", "request": {"method": "GET", "url": "/health"},
                           "validate": [{"eq": ["status_code", 200]}]}]}
    assert http.post(f"{stack.url}/modules/{module}/testcases", headers=headers, timeout=5,
                     json={"testcase": case}).status_code == 201
    created = http.post(f"{stack.url}/tasks", headers=headers, timeout=5, json={
        "name": "every minute", "project_id": project, "crontab": "* * * * *", "timezone": "UTC"})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]

    # The schedule exists in the emulator's Scheduler, as AWS would hold it.
    scheduler = stack.boto3_client("scheduler")
    held = scheduler.get_schedule(GroupName="hat-dev", Name=f"task-{task_id}-0")
    assert held["ScheduleExpression"] == "cron(* * * * ? *)" and held["State"] == "ENABLED"
    assert json.loads(held["Target"]["Input"]) == {"kind": "fire", "task_id": task_id, "trigger": "schedule",
                                                   "scheduled_time": "<aws.scheduler.scheduled-time>"}
    shown = http.get(f"{stack.url}/tasks/{task_id}", headers=headers, timeout=5).json()
    assert len(shown["schedule"]["next_runs"]) == 3

    deadline = time.monotonic() + FIRE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        shown = http.get(f"{stack.url}/tasks/{task_id}", headers=headers, timeout=5).json()
        if shown["run_count"] >= 1:
            break
        time.sleep(1)
    assert shown["run_count"] >= 1, "the every-minute task never fired"
    report = http.get(f"{stack.url}/reports/{shown['last_report']['id']}", headers=headers, timeout=5)
    assert report.status_code == 200, report.text
    assert report.json()["trigger"] == "schedule" and report.json()["task_id"] == task_id

    paused = http.patch(f"{stack.url}/tasks/{task_id}", headers=headers, timeout=5, json={"enabled": False})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert scheduler.get_schedule(GroupName="hat-dev", Name=f"task-{task_id}-0")["State"] == "DISABLED"
    shown = http.get(f"{stack.url}/tasks/{task_id}", headers=headers, timeout=5).json()
    assert shown["schedule"]["state"] == "DISABLED" and shown["schedule"]["next_runs"] == []

    assert http.delete(f"{stack.url}/tasks/{task_id}", headers=headers, timeout=5).status_code == 204
    names = [s["Name"] for s in scheduler.list_schedules(GroupName="hat-dev")["Schedules"]]
    assert f"task-{task_id}-0" not in names
