"""SQS pollers call the same handlers Lambda would; failures redrive to the DLQ."""
import json

from chalice import Chalice

from chalicelib.core.jobs import enqueue, process_records
from infra.local.pollers import pollers_for


def make_app(handle):
    app = Chalice(app_name="probe")

    @app.on_sqs_message(queue="hat-dev-sms", batch_size=1)
    def on_sms(event):
        process_records(event, handle)

    return app


def queue_depth(sqs, name):
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + \
        int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_message_reaches_its_handler_and_is_deleted(aws):
    seen = []
    app = make_app(seen.append)
    poller, = pollers_for(app, aws("sqs"), "us-east-1")
    job_id = enqueue("sms", {"to": "+15551234567", "body": "hi"})
    assert poller.poll_once(wait_seconds=1) == 1
    assert seen == [{"to": "+15551234567", "body": "hi", "job_id": job_id}]
    assert queue_depth(aws("sqs"), "hat-dev-sms") == 0


def test_a_handler_raising_three_times_moves_the_message_to_the_dlq(aws):
    attempts = []

    def always_fails(payload):
        attempts.append(payload["job_id"])
        raise ConnectionError("provider down")

    app = make_app(always_fails)
    poller, = pollers_for(app, aws("sqs"), "us-east-1")
    enqueue("sms", {"to": "+15551234567"})
    for _ in range(4):  # the 4th receive finds it gone to the DLQ
        poller.poll_once(wait_seconds=1)
    assert len(attempts) == 3
    sqs = aws("sqs")
    assert queue_depth(sqs, "hat-dev-sms") == 0
    dlq = sqs.get_queue_url(QueueName="hat-dev-sms-dlq")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1)["Messages"]
    assert json.loads(dead[0]["Body"])["job_id"] == attempts[0]


def test_a_failure_then_success_is_processed_once(aws):
    calls = []

    def flaky(payload):
        calls.append(payload)
        if len(calls) == 1:
            raise TimeoutError("first try times out")

    poller, = pollers_for(make_app(flaky), aws("sqs"), "us-east-1")
    enqueue("sms", {"n": 1})
    poller.poll_once(wait_seconds=1)
    poller.poll_once(wait_seconds=1)
    assert len(calls) == 2
    assert queue_depth(aws("sqs"), "hat-dev-sms") == 0


def test_a_malformed_message_is_dropped_not_retried_forever(aws):
    seen = []
    poller, = pollers_for(make_app(seen.append), aws("sqs"), "us-east-1")
    sqs = aws("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="hat-dev-sms")["QueueUrl"],
                     MessageBody="not json")
    poller.poll_once(wait_seconds=1)
    assert seen == []
    assert queue_depth(sqs, "hat-dev-sms") == 0


def test_backoff_follows_the_retry_delays_setting(monkeypatch):
    from chalicelib.core.jobs import retry_delay_seconds
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_JOB_RETRY_DELAYS_SECONDS", "5,30")
    reset_settings()
    try:
        assert [retry_delay_seconds(n) for n in (1, 2, 3, 9)] == [5, 30, 30, 30]
    finally:
        reset_settings()
