"""Against the local stack as `make dev` runs it: real HTTP, real queues, real schedules."""
import json
import os
import time
from datetime import UTC, datetime, timedelta


def test_health_answers(stack, http):
    response = http.get(f"{stack.url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stage": "dev", "version": "0.1.0"}


def test_outbox_is_served_only_by_the_local_stack(stack, http):
    response = http.get(f"{stack.url}/_local/outbox", timeout=5)
    assert response.status_code == 200
    assert isinstance(response.json()["items"], list)


def test_unknown_route_is_an_error_not_a_crash(stack, http):
    response = http.post(f"{stack.url}/health", json={}, timeout=5)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_schedule_created_with_boto3_fires_into_its_queue(stack):
    scheduler, sqs, iam = (stack.boto3_client(name) for name in ("scheduler", "sqs", "iam"))
    queue_url = sqs.get_queue_url(QueueName="hat-dev-runs-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    role_arn = iam.get_role(RoleName="hat-dev-scheduler")["Role"]["Arn"]
    when = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    marker = os.urandom(4).hex()
    for name, state in (("e2e-enabled", "ENABLED"), ("e2e-disabled", "DISABLED")):
        scheduler.create_schedule(
            Name=f"{name}-{marker}", GroupName="hat-dev", ScheduleExpression=f"at({when})",
            ScheduleExpressionTimezone="UTC", State=state, FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": queue_arn, "RoleArn": role_arn, "Input": json.dumps({"schedule": name})})
    received = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not received:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        received += [json.loads(m["Body"]) for m in messages]
    time.sleep(2)  # give the disabled one every chance to (wrongly) fire
    received += [json.loads(m["Body"]) for m in
                 sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])]
    assert received == [{"schedule": "e2e-enabled"}]
