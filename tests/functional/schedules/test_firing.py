"""A created task's schedule fires into the runs queue (the local scheduler emulator, fake
clock), and the runs worker's fire_task starts a run with trigger "schedule"; one firing
(task, scheduled time) starts one run however often it is delivered."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.core.clock import utcnow
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
    from chalicelib.runs.reading import get_report_summary
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
    assert fire_task(paused["id"], clock=utcnow) is None
    assert fire_task(gone["id"], clock=utcnow) is None
    assert fire_task("", clock=utcnow) is None
    assert take_messages(aws) == []
    assert alice.get(f"/tasks/{paused['id']}").body["run_count"] == 0


def test_fire_task_runs_the_chosen_modules_and_counts(api, aws):
    from chalicelib.runs.models import Report

    alice = api()
    project = alice.project()
    module = alice.module(project)
    task = alice.task(project, module_ids=[module], environment="staging").body
    first = fire_task(task["id"], clock=utcnow)
    second = fire_task(task["id"], clock=utcnow)
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


def run_messages(aws) -> list[str]:
    return [m["report_id"] for m in take_messages(aws) if m.get("kind") == "run"]


def test_the_schedule_input_carries_the_scheduled_time_attribute(api, aws):
    alice = api()
    task = alice.task(alice.project(), crontab="0 0 13 * 5").body
    held = [aws("scheduler").get_schedule(GroupName="hat-dev", Name=f"task-{task['id']}-{n}") for n in (0, 1)]
    wanted = {"kind": "fire", "task_id": task["id"], "trigger": "schedule",
              "scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert [json.loads(h["Target"]["Input"]) for h in held] == [wanted, wanted]


def test_the_local_scheduler_puts_the_real_scheduled_time_in_the_message(api, aws):
    alice = api()
    task = alice.task(alice.project(), crontab="30 9 * * *", timezone="Asia/Shanghai").body
    clock = FakeClock(datetime(2026, 11, 24, 1, 29, 59, 500000, tzinfo=UTC))
    emulator = SchedulerEmulator(aws, "hat-dev", clock=clock)
    clock.advance(seconds=2)  # the tick comes a little late: the time is the schedule's, not the tick's
    assert emulator.tick() == 1
    assert take_messages(aws) == [{"kind": "fire", "task_id": task["id"], "trigger": "schedule",
                                   "scheduled_time": "2026-11-24T01:30:00Z"}]


def test_a_firing_delivered_twice_starts_one_run(api, aws, app):
    """The emulator fires once; the message is then delivered twice (as SQS or the Scheduler's
    retry may): the runs worker starts one run and counts it once."""
    from chalicelib.runs.jobs import run_jobs  # noqa: F401
    from infra.local.pollers import pollers_for

    alice = api()
    task = alice.task(alice.project(), crontab="30 9 * * *", timezone="Asia/Shanghai").body
    clock = FakeClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    emulator = SchedulerEmulator(aws, "hat-dev", clock=clock)
    clock.advance(minutes=30)
    assert emulator.tick() == 1
    [fired] = take_messages(aws)
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hat-dev-runs")["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(fired))
    poller = next(p for p in pollers_for(app, sqs, "us-east-1") if p.name == "run_jobs")
    assert poller.poll_once(wait_seconds=0) == 1
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 1
    assert poller.poll_once(wait_seconds=0) == 1  # the duplicate: handled, nothing started
    again = alice.get(f"/tasks/{task['id']}").body
    assert (again["run_count"], again["last_report"]) == (1, shown["last_report"])
    assert run_messages(aws) == [shown["last_report"]["id"]]


def test_a_firing_without_kind_from_a_schedule_not_yet_rewritten_still_starts_its_run(api, aws, app):
    """Schedules written before firings carried `kind` send `{"task_id", "trigger"}` until the
    reconcile cron rewrites them: the runs worker still hands those to schedules."""
    from chalicelib.runs.jobs import run_jobs  # noqa: F401
    from chalicelib.runs.models import Report
    from infra.local.pollers import pollers_for

    alice = api()
    task = alice.task(alice.project()).body
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hat-dev-runs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"task_id": task["id"], "trigger": "schedule"}))
    poller = next(p for p in pollers_for(app, sqs, "us-east-1") if p.name == "run_jobs")
    assert poller.poll_once(wait_seconds=0) == 1
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 1
    assert Report.get(shown["last_report"]["id"]).trigger == "schedule"
    assert run_messages(aws) == [shown["last_report"]["id"]]


def test_same_scheduled_time_starts_one_run_different_times_start_two(api, aws):
    from chalicelib.runs.models import Report

    alice = api()
    task = alice.task(alice.project()).body
    first = fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)
    assert first["status"] == "queued"
    assert fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow) is None
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 1 and shown["last_report"]["id"] == first["report_id"]
    assert run_messages(aws) == [first["report_id"]]

    second = fire_task(task["id"], scheduled_time="2026-11-25T01:30:00Z", clock=utcnow)
    assert second["report_id"] != first["report_id"]
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 2 and shown["last_report"]["id"] == second["report_id"]
    assert run_messages(aws) == [second["report_id"]]
    assert Report.get(second["report_id"]).trigger == "schedule"

    # The same time for another task is another firing.
    other = alice.task(alice.project("blog"), name="other").body
    assert fire_task(other["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)["status"] == "queued"


def test_concurrent_deliveries_of_one_firing_start_one_run(api, aws):
    """Ten workers handed the same firing at once: one run; the others either see it done or
    are told to retry later (JobInProgress), and a retry then sees it done."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.core.jobs import JobInProgress

    alice = api()
    task = alice.task(alice.project()).body

    def deliver(_):
        try:
            return fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)
        except JobInProgress:
            return "retry"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(deliver, range(10)))
    started = [o for o in outcomes if isinstance(o, dict)]
    assert len(started) == 1
    assert fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow) is None
    assert alice.get(f"/tasks/{task['id']}").body["run_count"] == 1
    assert run_messages(aws) == [started[0]["report_id"]]


def test_messages_without_a_usable_scheduled_time_are_not_deduplicated(api, aws):
    """Older schedules' messages carry no time; a placeholder nobody replaced is no time
    either (a constant key would swallow every later firing): each starts a run, as before."""
    alice = api()
    task = alice.task(alice.project()).body
    for scheduled_time in (None, None, "<aws.scheduler.scheduled-time>", "<aws.scheduler.scheduled-time>"):
        assert fire_task(task["id"], scheduled_time=scheduled_time, clock=utcnow)["status"] == "queued"
    assert alice.get(f"/tasks/{task['id']}").body["run_count"] == 4


def test_a_failed_firing_can_be_retried(api, aws, monkeypatch):
    """The start failed (e.g. DynamoDB throttled): the claim is released, the redelivery runs."""
    import chalicelib.schedules.service as service

    alice = api()
    task = alice.task(alice.project()).body
    real = service._start

    def failing(*args, **kwargs):
        raise RuntimeError("throttled")

    monkeypatch.setattr(service, "_start", failing)
    with pytest.raises(RuntimeError):  # reaches the queue, which retries it
        fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)
    monkeypatch.setattr(service, "_start", real)
    assert fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)["status"] == "queued"
    assert alice.get(f"/tasks/{task['id']}").body["run_count"] == 1


def test_run_count_is_exact_under_racing_runs(api, aws):
    """Run-now and firings racing on one task: each run counts once (an atomic ADD)."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.schedules.service import run_task_now

    alice = api()
    task = alice.task(alice.project()).body

    def one(n):
        if n % 2:
            return run_task_now(alice.user, task["id"], clock=utcnow)["report_id"]
        return fire_task(task["id"], scheduled_time=f"2026-11-24T01:{n:02d}:00Z", clock=utcnow)["report_id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        reports = list(pool.map(one, range(12)))
    assert len(set(reports)) == 12
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["run_count"] == 12 and shown["last_report"]["id"] in reports
