"""A created task's schedule fires into the runs queue (the local scheduler emulator, fake
clock), and the runs worker's fire_task starts a run with trigger "schedule"."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.schedules.service import fire_task
from infra.local.scheduler import SchedulerEmulator
from tests.support import FakeClock


def take_messages(aws, queue: str = "hat-dev-runs") -> list[dict]:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for message in got:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_the_schedule_fires_and_the_worker_starts_a_scheduled_run(api, aws, app):
    from chalicelib.runs.jobs import run_jobs  # noqa: F401  (the handler the poller calls)
    from chalicelib.runs.service import get_report_summary
    from infra.local.pollers import pollers_for

    alice = api()
    project = alice.project()
    task = alice.task(project, crontab="30 9 * * *", timezone="Asia/Shanghai",
                      notify={"emails": ["qa@example.com"], "when": "failure"}).body
    # 09:30 in Shanghai is 01:30 UTC.
    clock = FakeClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    emulator = SchedulerEmulator(aws, "hat-dev", clock=clock)
    clock.advance(minutes=29)
    assert emulator.tick() == 0
    clock.advance(minutes=1)
    assert emulator.tick() == 1
    assert emulator.fired == [(f"task-{task['id']}-0", datetime(2026, 11, 24, 1, 30, tzinfo=UTC))]

    # The runs worker, exactly as Lambda (or the local poller) would call it.
    poller = next(p for p in pollers_for(app, aws("sqs"), "us-east-1") if p.name == "run_jobs")
    assert poller.poll_once(wait_seconds=0) == 1
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 1
    report_id = shown["last_report"]["id"]
    summary = get_report_summary(report_id)
    assert summary["trigger"] == "schedule" and summary["task_id"] == task["id"]
    assert shown["last_report"]["status"] == summary["status"]
    # the run itself is queued for the worker
    assert [m.get("report_id") for m in take_messages(aws)] == [report_id]

    # Disabled: the schedule no longer fires.
    assert alice.patch(f"/tasks/{task['id']}", {"enabled": False}).status == 200
    clock.advance(days=1)
    assert emulator.tick() == 0
    assert take_messages(aws) == []


def test_fire_task_starts_nothing_for_a_deleted_or_disabled_task(api, aws):
    alice = api()
    project = alice.project()
    paused = alice.task(project, name="paused", enabled=False).body
    gone = alice.task(project, name="gone").body
    assert alice.delete(f"/tasks/{gone['id']}").status == 204
    assert fire_task(paused["id"]) is None
    assert fire_task(gone["id"]) is None
    assert fire_task("") is None
    assert take_messages(aws) == []
    assert alice.get(f"/tasks/{paused['id']}").body["run_count"] == 0


def test_fire_task_runs_the_chosen_modules_and_counts(api, aws):
    from chalicelib.runs.models import Report

    alice = api()
    project = alice.project()
    module = alice.module(project)
    task = alice.task(project, module_ids=[module], environment="staging").body
    first = fire_task(task["id"])
    second = fire_task(task["id"])
    assert first["status"] == "queued" and first["report_id"] != second["report_id"]
    report = Report.get(second["report_id"])
    assert (report.trigger, report.task_id, list(report.module_ids), report.environment) == (
        "schedule", task["id"], [module], "staging")
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 2 and shown["last_report"]["id"] == second["report_id"]


def test_run_now_is_a_manual_run_202(api, aws):
    from chalicelib.runs.models import Report

    alice = api()
    task = alice.task(alice.project()).body
    answer = alice.post(f"/tasks/{task['id']}/runs")
    assert answer.status == 202 and set(answer.body) >= {"report_id"}
    report = Report.get(answer.body["report_id"])
    assert (report.trigger, report.task_id, report.started_by) == ("manual", task["id"], alice.user["id"])
    assert alice.get(f"/tasks/{task['id']}").body["last_report"]["id"] == answer.body["report_id"]
