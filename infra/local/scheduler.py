"""A scheduler emulator: what EventBridge Scheduler and Chalice's system crons do on AWS.

The emulator (moto) stores schedules but never fires them. On each `tick`, this
fires every ENABLED schedule of the group whose cron/rate/at time fell in
(previous tick, now], in its own time zone, by sending its Input to its SQS
target, with the context attributes replaced as AWS does (`<aws.scheduler.scheduled-time>`
becomes the firing's time, e.g. 2026-11-24T01:30:00Z; also schedule-arn, execution-id and
attempt-number, always 1 here: the emulator does not retry); and calls every
`@app.schedule` handler due in that window. The clock is injected, so tests move time
instead of sleeping.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import takewhile
from typing import Any
from zoneinfo import ZoneInfo

from chalice.app import Chalice, ScheduledEventConfig

from chalicelib.core.clock import Clock, isoformat, utcnow
from chalicelib.schedules.awscron import parse_at, parse_cron, parse_rate, split_expression
from infra.local.lambda_context import LocalLambdaContext

logger = logging.getLogger("hat.local.scheduler")
TICK_SECONDS = 1.0


def fire_times(expression: str, zone: ZoneInfo, after: datetime, until: datetime,
               start: datetime) -> Iterator[datetime]:
    """Times in (after, until] at which `expression` fires."""
    kind, body = split_expression(expression)
    if kind == "cron":
        times = parse_cron(body).fire_times(after, zone)
    elif kind == "rate":
        times = parse_rate(body).fire_times(after, start)
    else:
        moment = parse_at(body, zone)
        times = iter([moment] if moment > after else [])
    return takewhile(lambda moment: moment <= until, times)


def with_context_attributes(payload: str, *, scheduled_time: datetime, schedule_arn: str,
                            execution_id: str | None = None, attempt_number: int = 1) -> str:
    """Replace EventBridge Scheduler's context attributes in a target's Input, as AWS does
    at each invocation (plain text replacement of each keyword)."""
    values = {
        "<aws.scheduler.scheduled-time>": isoformat(scheduled_time),
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.execution-id>": execution_id or uuid.uuid4().hex[:16],
        "<aws.scheduler.attempt-number>": str(attempt_number),
    }
    for keyword, value in values.items():
        payload = payload.replace(keyword, value)
    return payload


def scheduled_event(rule_name: str, moment: datetime, region: str) -> dict:
    return {
        "version": "0", "id": f"local-{rule_name}-{int(moment.timestamp())}",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": isoformat(moment), "region": region, "resources": [f"local:rule/{rule_name}"],
        "detail": {},
    }


class SchedulerEmulator:
    def __init__(self, client: Callable[[str], Any], group: str, *, app: Chalice | None = None,
                 clock: Clock = utcnow, region: str = "us-east-1") -> None:
        self.client = client
        self.group = group
        self.app = app
        self.clock = clock
        self.region = region
        self.started = clock()
        self.last_tick = self.started
        self.fired: list[tuple[str, datetime]] = []  # (schedule or handler name, time), for tests
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Fire everything due since the previous tick; returns how many fired."""
        now = self.clock()
        after, self.last_tick = self.last_tick, now
        return self._fire_schedules(after, now) + self._fire_system_crons(after, now)

    def _schedules(self) -> Iterator[dict]:
        scheduler = self.client("scheduler")
        for page in scheduler.get_paginator("list_schedules").paginate(GroupName=self.group):
            for summary in page.get("Schedules", []):
                yield scheduler.get_schedule(GroupName=self.group, Name=summary["Name"])

    def _fire_schedules(self, after: datetime, now: datetime) -> int:
        fired = 0
        for schedule in self._schedules():
            if schedule.get("State", "ENABLED") != "ENABLED":
                continue
            zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
            created = schedule.get("CreationDate") or self.started
            window_start = max(after, schedule["StartDate"]) if schedule.get("StartDate") else after
            window_end = min(now, schedule["EndDate"]) if schedule.get("EndDate") else now
            try:
                due = list(fire_times(schedule["ScheduleExpression"], zone, window_start, window_end,
                                      created))
            except ValueError:
                logger.error("schedule %s has an expression AWS would reject: %s",
                             schedule["Name"], schedule["ScheduleExpression"])
                continue
            for moment in due:
                self._deliver(schedule, moment)
                fired += 1
        return fired

    def _deliver(self, schedule: dict, moment: datetime) -> None:
        target = schedule["Target"]
        arn = target["Arn"]
        if not arn.startswith("arn:aws:sqs:"):
            logger.error("schedule %s targets %s; only SQS targets are emulated", schedule["Name"], arn)
            return
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        group = schedule.get("GroupName") or self.group
        schedule_arn = schedule.get("Arn") or (
            f"arn:aws:scheduler:{self.region}:123456789012:schedule/{group}/{schedule['Name']}")
        body = with_context_attributes(target.get("Input") or "{}", scheduled_time=moment,
                                       schedule_arn=schedule_arn)
        sqs.send_message(QueueUrl=url, MessageBody=body)
        self.fired.append((schedule["Name"], moment))
        logger.info("schedule %s fired at %s", schedule["Name"], isoformat(moment))

    def _fire_system_crons(self, after: datetime, now: datetime) -> int:
        if self.app is None:
            return 0
        fired = 0
        for source in self.app.event_sources:
            if not isinstance(source, ScheduledEventConfig):
                continue
            expression = source.schedule_expression
            if not isinstance(expression, str):
                expression = expression.to_string()
            for moment in fire_times(expression, ZoneInfo("UTC"), after, now, self.started):
                handler = self.app.handler_map[source.name]
                try:
                    handler(scheduled_event(source.name, moment, self.region),
                            LocalLambdaContext(function_name=source.name))
                except Exception:
                    logger.exception("system cron %s failed", source.name)
                self.fired.append((source.name, moment))
                fired += 1
        return fired

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:
                logger.exception("scheduler tick failed")

    def start(self) -> SchedulerEmulator:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


