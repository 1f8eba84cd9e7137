"""Fixtures for the accounts tests: real Twilio client and SMTP against local stand-ins.

`sinks` starts a Twilio stand-in and an SMTP server once per module; `notify` points
the settings at them for one test (fresh outbox) and delivers queued jobs through the
app's own SQS handlers, as the local stack's pollers do.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from infra.local.outbox import Outbox
from infra.local.sinks import SmtpSink, TwilioStandIn
from tests.support import FakeClock

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-twilio-token"
FROM_NUMBER = "+15005550006"
PUBLIC_URL = "https://hat.example.com/api"


@pytest.fixture(scope="module")
def sinks():
    outbox = Outbox()
    twilio = TwilioStandIn(outbox).start()
    smtp = SmtpSink(outbox).start()
    yield twilio, smtp
    smtp.stop()
    twilio.stop()


@dataclass
class Notify:
    app: object
    sqs: object
    twilio: TwilioStandIn
    smtp: SmtpSink
    region: str = "us-east-1"
    pollers: list = field(default_factory=list)

    @property
    def outbox(self) -> list[dict]:
        return self.twilio.outbox.items()

    def deliver(self, rounds: int = 1) -> int:
        """Hand every queued sms/email job to the app's handler; returns how many were handled."""
        from infra.local.pollers import pollers_for

        if not self.pollers:
            self.pollers = pollers_for(self.app, self.sqs, self.region)
        handled = 0
        for _ in range(rounds):
            for poller in self.pollers:
                while poller.poll_once(wait_seconds=0):
                    handled += 1
        return handled

    def codes_to(self, destination: str) -> list[str]:
        return [re.search(r"\b(\d{6})\b", item["body"]).group(1) for item in self.outbox
                if item["to"] == destination and re.search(r"\b\d{6}\b", item["body"])]

    def last_code(self, destination: str) -> str:
        self.deliver()
        found = self.codes_to(destination)
        assert found, f"no code reached {destination}: {self.outbox}"
        return found[-1]


@pytest.fixture
def notify(app, aws, sinks, monkeypatch) -> Notify:
    from chalicelib.core.settings import reset_settings
    from chalicelib.notify.sms import reset_clients

    twilio, smtp = sinks
    outbox = Outbox()
    twilio.outbox = smtp.outbox = outbox
    twilio.requests.clear()
    twilio.fail_next(0)
    smtp.messages.clear()
    for name, value in {
        "HAT_TWILIO_API_URL": twilio.url, "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "HAT_EMAIL_BACKEND": "smtp", "HAT_SMTP_HOST": smtp.host, "HAT_SMTP_PORT": str(smtp.port),
        "HAT_SMTP_SECURITY": "none", "HAT_EMAIL_FROM": "hat@example.com", "HAT_PUBLIC_URL": PUBLIC_URL,
        "HAT_BCRYPT_ROUNDS": "4", "HAT_JOB_RETRY_DELAYS_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    reset_clients()
    yield Notify(app, aws("sqs"), twilio, smtp)
    reset_clients()


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """Drive every accounts clock (codes, limits, sessions) from the test."""
    import chalicelib.accounts.codes as codes
    import chalicelib.accounts.service as service
    import chalicelib.accounts.sessions as sessions

    fake = FakeClock()
    _patch_defaults(monkeypatch, fake, (codes, service, sessions))
    return fake


def _patch_defaults(monkeypatch, fake, modules) -> None:
    """Functions take `clock=utcnow` as a default: point those defaults at `fake`."""
    from chalicelib.core import clock as core_clock

    for module in modules:
        for value in vars(module).values():
            defaults = getattr(value, "__kwdefaults__", None)
            if callable(value) and defaults and defaults.get("clock") is core_clock.utcnow:
                monkeypatch.setattr(value, "__kwdefaults__", {**defaults, "clock": fake})


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
