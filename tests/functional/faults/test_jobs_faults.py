"""Job faults: S3 down during a run, SMTP down, and SQS delivering every message twice
(and once more later). Twilio down and a worker killed mid-run are covered where they
live (tests/functional/accounts/test_notify.py, tests/functional/runs/test_redelivery_and_reaper.py)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.emulator import free_port
from infra.local.pollers import lambda_record, pollers_for
from tests.functional.runs.conftest import case


class S3Down:
    """`before-call.s3.PutObject`: S3 answers 503 SlowDown, as after botocore's retries."""

    def __init__(self) -> None:
        self.refused = 0

    def __call__(self, **_kwargs):
        self.refused += 1
        http = type("Http", (), {"status_code": 503, "headers": {}})()
        return http, {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                      "ResponseMetadata": {"HTTPStatusCode": 503}}


@pytest.fixture
def s3_down(aws):
    s3 = aws("s3")  # core.aws's client: the one the run worker uses
    down = S3Down()
    s3.meta.events.register_first("before-call.s3.PutObject", down)
    yield down
    s3.meta.events.unregister("before-call.s3.PutObject", down)


def _stats(aws) -> list[dict]:
    return aws("dynamodb").scan(TableName="hat-dev-run-stats", ConsistentRead=True)["Items"]


def test_s3_down_during_a_run_retries_the_job_and_counts_once(alice, target, run_queue, aws, s3_down):
    shop = alice.shop(target.url, [case("one"), case("two")])
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    run_queue(max_rounds=1, must_empty=False)  # the detail cannot be stored: the job fails
    assert s3_down.refused == 1
    middle = alice.get(f"/reports/{report_id}").body
    assert middle["status"] in ("running", "queued"), middle
    assert _stats(aws) == [], "a run whose detail was lost must not be counted yet"

    aws("s3").meta.events.unregister("before-call.s3.PutObject", s3_down)
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "passed" and (report["tests_run"], report["successes"]) == (2, 2), report
    assert len(report["testcases"]) == 2
    today = alice.get("/dashboard").body["days"][-1]
    assert (today["pass"], today["fail"]) == (2, 0), today


def test_s3_down_for_every_try_dead_letters_and_the_reaper_ends_it_as_error(alice, target, run_queue, aws,
                                                                            s3_down, app):
    shop = alice.shop(target.url, [case("one")])
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    for _ in range(4):
        run_queue(max_rounds=1, must_empty=False)
    sqs = aws("sqs")
    dlq = sqs.get_queue_url(QueueName="hat-dev-runs-dlq")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", [])
    assert [json.loads(m["Body"])["report_id"] for m in dead] == [report_id]
    assert _stats(aws) == []
    from chalicelib.runs import worker

    later = datetime.now(UTC) + timedelta(hours=2)
    assert worker.reap(clock=lambda: later) == 1
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "error", report


def test_smtp_down_retries_then_sends_once_or_dead_letters(client, notify, aws, monkeypatch):  # noqa: F811
    from chalicelib.core.settings import reset_settings
    from tests.functional.accounts.conftest import post

    closed = str(free_port())
    monkeypatch.setenv("HAT_SMTP_PORT", closed)
    reset_settings()
    assert post(client, "/auth/codes", {"channel": "email", "destination": "down@example.com",
                                        "purpose": "register"}).status_code == 202
    email = next(p for p in pollers_for(notify.app, aws("sqs"), "us-east-1") if p.name == "email_jobs")
    assert email.poll_once(wait_seconds=0) == 1 and email.poll_once(wait_seconds=0) == 1  # two failed tries
    assert notify.outbox == []
    monkeypatch.setenv("HAT_SMTP_PORT", str(notify.smtp.port))
    reset_settings()
    assert email.poll_once(wait_seconds=0) == 1  # the third try gets through
    assert notify.deliver(rounds=3) == 0
    assert [item["to"] for item in notify.outbox] == ["down@example.com"]

    monkeypatch.setenv("HAT_SMTP_PORT", closed)
    reset_settings()
    assert post(client, "/auth/codes", {"channel": "email", "destination": "gone@example.com",
                                        "purpose": "register"}).status_code == 202
    assert notify.deliver(rounds=1) == 3  # three tries, then the DLQ
    sqs = aws("sqs")
    dlq = sqs.get_queue_url(QueueName="hat-dev-email-dlq")["QueueUrl"]
    dead, = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)["Messages"]
    assert json.loads(dead["Body"])["destination"] == "gone@example.com"
    monkeypatch.setenv("HAT_SMTP_PORT", str(notify.smtp.port))
    reset_settings()
    notify.deliver(rounds=2)
    assert [item["to"] for item in notify.outbox] == ["down@example.com"]  # nothing sent twice


def deliver_everything_twice(app, sqs, rounds: int = 30) -> int:
    """Every SQS handler's queue, each message handed over twice at once and once more later."""
    handed = 0
    pollers = pollers_for(app, sqs, "us-east-1")
    for _ in range(rounds):
        busy = False
        for poller in pollers:
            poller._resolve_queue()
            got = sqs.receive_message(
                QueueUrl=poller._queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
            for message in got:
                busy = True
                event = {"Records": [lambda_record(message, poller._queue_arn, "us-east-1")]}
                for _ in range(2):
                    try:
                        poller.handler(event, None)
                        handed += 1
                    except Exception:
                        pass
                again = "again" in message.get("MessageAttributes", {})
                sqs.delete_message(QueueUrl=poller._queue_url, ReceiptHandle=message["ReceiptHandle"])
                if not again:
                    sqs.send_message(QueueUrl=poller._queue_url, MessageBody=message["Body"],
                                     MessageAttributes={"again": {"DataType": "String", "StringValue": "1"}})
        if not busy:
            return handed
    raise AssertionError("the queues never emptied")


def test_every_message_delivered_twice_sends_and_counts_exactly_once(client, notify, alice, target, aws,  # noqa: F811
                                                                   app):
    from tests.functional.accounts.conftest import post

    for body in ({"channel": "email", "destination": "twice@example.com", "purpose": "register"},
                 {"channel": "sms", "destination": "+8613800138111", "purpose": "register"}):
        assert post(client, "/auth/codes", body).status_code == 202
    shop = alice.shop(target.url, [case("one"), case("two"), case("bad", status=500)])
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    extra = alice.module(shop["project"]["id"], "doomed")
    alice.post(f"/modules/{extra['id']}/testcases", {"testcase": case("x")})
    assert alice.delete(f"/modules/{extra['id']}").status == 204
    assert deliver_everything_twice(app, aws("sqs")) >= 4 * 3

    assert sorted(item["to"] for item in notify.outbox) == ["+8613800138111", "twice@example.com"]
    assert len(notify.twilio.requests) == 1 and len(notify.smtp.messages) == 1
    assert len(target.hits) == 3  # each step ran once
    report = alice.get(f"/reports/{report_id}").body
    summary = (report["status"], report["tests_run"], report["successes"], report["failures"])
    assert summary == ("failed", 3, 2, 1), report
    today = alice.get("/dashboard").body["days"][-1]
    assert (today["pass"], today["fail"]) == (2, 1), today
    project = alice.get(f"/projects/{shop['project']['id']}").body
    assert (project["module_count"], project["testcase_count"]) == (1, 3), project
