"""Fault injection for the hardening tests, through botocore's own event hooks.

`ddb_faults` answers chosen DynamoDB requests with a throttling error *instead of sending
them* (`before-send.dynamodb`, so botocore's retry handler sees a real 400 and retries as
it would on AWS), on every DynamoDB client: PynamoDB's (per model and the transaction
Connection) and boto3's in core.aws, those that exist and those made during the test.
Nothing of ours is patched.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest

from tests.functional.runs.conftest import (  # noqa: F401 (fixtures)
    alice,
    case,
    clock,
    run_queue,
    runs_api_for,
    target,
)
from tests.support import hook_dynamodb

THROTTLED = {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
             "message": "The level of configured provisioned throughput for the table was exceeded."}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


class DdbFaults:
    """`rule(operation_name, attempt_number) -> bool`: throttle this send?"""

    def __init__(self) -> None:
        self.rule: Callable[[str], bool] = lambda operation: False
        self.sent: list[str] = []
        self.throttled: list[str] = []
        self._lock = threading.Lock()

    def every_other(self, operations: set[str] | None = None) -> None:
        """Throttle every second send (of `operations`): each call fails once, its retry passes."""
        state = {"n": 0}

        def rule(operation: str) -> bool:
            if operations is not None and operation not in operations:
                return False
            state["n"] += 1
            return state["n"] % 2 == 1

        self.rule = rule

    def always(self, operations: set[str]) -> None:
        self.rule = lambda operation: operation in operations

    def off(self) -> None:
        self.rule = lambda operation: False

    def before_send(self, request, **_kwargs):
        from botocore.awsrequest import AWSResponse

        operation = request.headers.get("X-Amz-Target", b"")
        operation = (operation.decode() if isinstance(operation, bytes) else operation).rsplit(".", 1)[-1]
        with self._lock:
            self.sent.append(operation)
            if not self.rule(operation):
                return None
            self.throttled.append(operation)
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"},
                           _Raw(json.dumps(THROTTLED).encode()))


@pytest.fixture
def ddb_faults(aws, monkeypatch) -> DdbFaults:
    faults = DdbFaults()
    # before-send: botocore's retry handler sees a real 400 and retries, as against AWS.
    unhook = hook_dynamodb(monkeypatch, faults.before_send, event="before-send", first=True)
    yield faults
    unhook()


def table_items(aws, name: str) -> list[dict]:
    """Every item of the stage's table `name` (test-side inspection only: a Scan)."""
    client = aws("dynamodb")
    items, kwargs = [], {"TableName": f"hat-dev-{name}"}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
