"""The sms and email queues' workers: thin, idempotent, retried with backoff, then dead-lettered.

Each message is one job `{"job_id", "kind", ...}`. `core.jobs.process_records` gives
the backoff (and the queue's maxReceiveCount the DLQ); `core.jobs.run_once` keyed by
the job id makes a redelivered message never send twice. Kinds:
- "verification_code": accounts draws, stores and sends a code (chalicelib/accounts/codes.py);
- "message": `{"to", "subject"?, "body", "html"?, "headers"?}` sent as is (notifications of
  other features); an email with `html` is multipart/alternative, the plain `body` first;
- "confirm_recipients": `{"project_id", "emails", "mobiles", "requested_by"}` asks the
  outside addresses among them, once each, to confirm (chalicelib/notify/recipients.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.catalog.extensions import on_recipients_stored
from chalicelib.core.settings import load_settings

if TYPE_CHECKING:
    from chalicelib.notify.service import Sender

notify_jobs = Blueprint(__name__)
# Queue names need only the stage: read it without get_settings(), which may fetch secrets
# (SSM) that importing the app, e.g. for `chalice package`, must not need.
_QUEUES = load_settings()


def _ask_recipients(project_id: str, notify: Mapping | None, requested_by: str | None,
                    alerts: list[Mapping] | None) -> None:
    from chalicelib.notify.recipients import request_confirmations

    request_confirmations(project_id, notify, requested_by, alerts)


# a project's stored recipients and email/SMS channels: outside addresses are asked to confirm
# (the "confirm_recipients" job below; catalog/extensions.py)
on_recipients_stored(_ask_recipients)


def _sender() -> Sender:
    """The queues' handlers' sender: the edge's clock, the clients made on first use."""
    from chalicelib.core.edge import edge
    from chalicelib.notify.service import Sender

    return Sender(clock=edge().clock)


def handle_job(channel: str, payload: dict, *, sender: Sender) -> object:
    """Run one job of the `channel` queue at most once."""
    from chalicelib.core.jobs import run_once
    job_id = payload["job_id"]

    def send(to_channel: str, to: str, subject: str, body: str, html: str | None = None,
             headers: dict[str, str] | None = None) -> dict:
        return sender.send(to_channel, to, subject, body, html=html, headers=headers, job_id=job_id)

    def effect() -> object:
        kind = payload.get("kind", "message")
        if kind == "verification_code":
            from chalicelib.accounts.codes import deliver_code

            return deliver_code(payload, send=send, clock=sender.clock)
        if kind == "message":
            return send(channel, payload["to"], payload.get("subject", ""), payload["body"],
                        payload.get("html"), payload.get("headers"))
        if kind == "confirm_recipients":
            from chalicelib.notify.recipients import ask_to_confirm

            return ask_to_confirm(payload, clock=sender.clock)
        raise ValueError(f"unknown job kind {kind!r}")

    _ran, result = run_once(f"{channel}:{job_id}", effect, clock=sender.clock)
    return result


@notify_jobs.on_sqs_message(queue=_QUEUES.queue_name("sms"), batch_size=1)
def sms_jobs(event) -> None:
    from chalicelib.core.jobs import process_records

    process_records(event, lambda payload: handle_job("sms", payload, sender=_sender()))


@notify_jobs.on_sqs_message(queue=_QUEUES.queue_name("email"), batch_size=1)
def email_jobs(event) -> None:
    from chalicelib.core.jobs import process_records

    process_records(event, lambda payload: handle_job("email", payload, sender=_sender()))
