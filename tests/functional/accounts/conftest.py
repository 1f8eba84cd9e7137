"""Fixtures for the accounts tests (`sinks` and `notify`, the real Twilio client and SMTP
against local stand-ins, come from tests/functional/conftest.py)."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support import FakeClock


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Drive every accounts clock (codes, limits, sessions) from the test: the routes and the
    auth middleware hand the services the edge's clock (core/edge.py), here this one."""
    from chalicelib.core.edge import Edge, use_edge

    fake = FakeClock()
    with use_edge(Edge(clock=fake)):
        yield fake


def post(client, path: str, body: dict, headers: dict | None = None, ip: str | None = None):
    if ip is not None:
        import chalice.local

        old = chalice.local.LambdaEventConverter.LOCAL_SOURCE_IP
        chalice.local.LambdaEventConverter.LOCAL_SOURCE_IP = ip
        try:
            return post(client, path, body, headers)
        finally:
            chalice.local.LambdaEventConverter.LOCAL_SOURCE_IP = old
    return client.http.post(path, headers={"Content-Type": "application/json", **(headers or {})},
                            body=json.dumps(body))


def error_of(response) -> dict:
    return json.loads(response.body)["error"]


@pytest.fixture
def lambda_like(app, monkeypatch):
    """Each thread sees its own `app.current_request`, as each Lambda container does.

    Chalice keeps the current request on the app object, so threads sharing one app
    (the test client, chalice's local server) would read each other's requests; and the
    test client swaps `os.environ` for a copy around each request, which threads would
    leave behind stale. A Lambda container has its environment set once: so here.
    """
    import contextlib
    import os
    import threading

    import chalice.test
    from chalice import Chalice

    local = threading.local()
    monkeypatch.setattr(Chalice, "current_request", property(
        lambda self: getattr(local, "request", None),
        lambda self, value: setattr(local, "request", value)), raising=False)
    monkeypatch.setattr(chalice.test.BaseClient, "_patched_env_vars",
                        lambda self, variables: contextlib.nullcontext())
    environ = os.environ
    yield app
    os.environ = environ  # noqa: B003 - put back the very object chalice's client swapped out


def race(count: int, action) -> list:
    """Run action(i) in `count` threads released together; the results in order."""
    import threading

    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def dynamodb_calls(monkeypatch) -> list[str]:
    """The DynamoDB operations made from here on, by any client (boto3's or PynamoDB's)."""
    from botocore.client import BaseClient

    calls: list[str] = []
    original = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return calls
