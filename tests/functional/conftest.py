"""Fixtures every functional suite may use: the real Twilio client and SMTP against local
stand-ins.

`sinks` starts a Twilio stand-in and an SMTP server (aiosmtpd) once per module; `notify`
points the settings at them for one test (fresh outbox) and delivers queued sms/email jobs
through the app's own SQS handlers, as the local stack's pollers do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from infra.local.outbox import Outbox
from infra.local.sinks import SmtpSink, TwilioStandIn
from tests.functional.messaging import FROM_NUMBER, PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN, take_queue


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


def token_in(text: str, path: str) -> str | None:
    """The token of the first `path?token=` link in a message."""
    found = re.search(re.escape(path) + r"\?token=([0-9a-f.]{98})", text)
    return found.group(1) if found else None


@pytest.fixture
def confirm_outside(aws, client, monkeypatch):
    """confirm_outside() -> the addresses confirmed: the real confirmation flow for every
    outside recipient asked so far. Runs the queued `confirm_recipients` jobs through notify's
    handler, takes the confirmation requests they queue and POSTs each one's link to the
    confirm route, as its recipient would; every other queued message is put back."""
    import json

    from chalicelib.core.clock import utcnow
    from chalicelib.core.settings import get_settings, reset_settings
    from chalicelib.notify.jobs import handle_job
    from chalicelib.notify.recipients import CONFIRM_PATH
    from chalicelib.notify.service import Sender

    if not get_settings().public_url:
        monkeypatch.setenv("HAT_PUBLIC_URL", PUBLIC_URL)
        reset_settings()
    sqs = aws("sqs")

    def confirm() -> list[str]:
        confirmed, others = [], {"email": [], "sms": []}
        for _round in range(3):
            for queue in ("email", "sms"):
                for job in take_queue(sqs, queue):
                    if job.get("kind") == "confirm_recipients":
                        handle_job(queue, job, sender=Sender(clock=utcnow))
                    elif str(job.get("job_id", "")).startswith("confirm-"):
                        token = token_in(job["body"], CONFIRM_PATH)
                        answer = client.http.post(f"{CONFIRM_PATH}?token={token}", body=b"", headers={
                            "Content-Type": "application/x-www-form-urlencoded"})
                        assert answer.status_code == 200, answer.body
                        confirmed.append(job["to"])
                    else:
                        others[queue].append(job)
        for queue, jobs in others.items():
            url = sqs.get_queue_url(QueueName=f"hat-dev-{queue}")["QueueUrl"]
            for job in jobs:
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
        return confirmed

    return confirm
