"""The scheduler emulator fires schedules made with boto3 at their cron times."""
import json
import os
from datetime import UTC, datetime

import pytest
from chalice import Chalice, Rate

from infra.local.scheduler import SchedulerEmulator
from tests.support import FakeClock


def create_schedule(aws, name, expression, timezone="UTC", state="ENABLED", task_id="t1"):
    aws("scheduler").create_schedule(
        Name=name, GroupName="hat-dev", ScheduleExpression=expression,
        ScheduleExpressionTimezone=timezone, State=state, FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": os.environ["HAT_RUNS_QUEUE_ARN"], "RoleArn": os.environ["HAT_SCHEDULER_ROLE_ARN"],
                "Input": json.dumps({"task_id": task_id, "trigger": "schedule"})},
    )


def drain(aws, queue="hat-dev-runs"):
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_schedule_fires_into_its_queue_at_its_cron_time_in_its_zone(aws):
    # 09:30 in Shanghai is 01:30 UTC.
    clock = FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    scheduler = SchedulerEmulator(aws, "hat-dev", clock=clock)
    create_schedule(aws, "task-1", "cron(30 9 * * ? *)", timezone="Asia/Shanghai")
    clock.advance(minutes=29)
    assert scheduler.tick() == 0
    assert drain(aws) == []
    clock.advance(minutes=1)
    assert scheduler.tick() == 1
    assert drain(aws) == [{"task_id": "t1", "trigger": "schedule"}]
    clock.advance(minutes=30)
    assert scheduler.tick() == 0  # once a day, not again


def test_a_disabled_schedule_does_not_fire_and_fires_again_when_enabled(aws):
    clock = FakeClock(datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC))
    scheduler = SchedulerEmulator(aws, "hat-dev", clock=clock)
    create_schedule(aws, "task-2", "cron(* * * * ? *)", state="DISABLED")
    clock.advance(minutes=3)
    assert scheduler.tick() == 0
    assert drain(aws) == []
    schedule = aws("scheduler").get_schedule(GroupName="hat-dev", Name="task-2")
    aws("scheduler").update_schedule(
        Name="task-2", GroupName="hat-dev", ScheduleExpression=schedule["ScheduleExpression"],
        FlexibleTimeWindow={"Mode": "OFF"}, Target=schedule["Target"], State="ENABLED")
    clock.advance(minutes=2)
    assert scheduler.tick() == 2
    assert len(drain(aws)) == 2


def test_a_missed_window_fires_each_due_time_once(aws):
    clock = FakeClock(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    scheduler = SchedulerEmulator(aws, "hat-dev", clock=clock)
    create_schedule(aws, "hourly", "cron(0 * * * ? *)")
    clock.advance(hours=3)
    assert scheduler.tick() == 3
    assert [name for name, _ in scheduler.fired] == ["hourly"] * 3


def test_system_crons_fire_at_their_rate(aws):
    app = Chalice(app_name="probe")
    calls = []

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def reap(event):
        calls.append(event.to_dict()["time"])

    clock = FakeClock(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    scheduler = SchedulerEmulator(aws, "hat-dev", app=app, clock=clock)
    clock.advance(minutes=4)
    scheduler.tick()
    assert calls == []
    clock.advance(minutes=7)
    scheduler.tick()
    assert calls == ["2026-11-23T00:05:00Z", "2026-11-23T00:10:00Z"]


@pytest.mark.parametrize("expression", ["cron(0 9 * * * *)", "cron(61 9 * * ? *)", "every day"])
def test_an_expression_aws_would_reject_never_fires(aws, expression):
    clock = FakeClock(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    scheduler = SchedulerEmulator(aws, "hat-dev", clock=clock)
    create_schedule(aws, "bad", expression)  # the emulator accepts anything
    clock.advance(days=1)
    assert scheduler.tick() == 0
