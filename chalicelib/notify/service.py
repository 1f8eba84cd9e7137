"""Sending SMS and email for jobs, and recording what became of them.

`Sender` holds the injectable pieces (Twilio client, SMTP factory, SES client, clock);
the SQS handlers use one with the defaults. A delivery record is written once the
provider accepted the message; Twilio's status callbacks then move its status on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from chalicelib.core.clock import Clock
from chalicelib.core.db import update_if
from chalicelib.core.settings import get_settings
from chalicelib.notify import TWILIO_STATUS_PATH
from chalicelib.notify.models import STATUS_RANKS, Delivery

logger = logging.getLogger("hat.notify")


def mask(address: str) -> str:
    """+8613800138000 -> +86138****8000; alice@example.com -> a***@example.com."""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return address[:6] + "****" + address[-4:] if len(address) > 10 else address[:3] + "****"


def status_callback_url(job_id: str) -> str | None:
    """Where Twilio reports this job's message status; None without HAT_PUBLIC_URL."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}{TWILIO_STATUS_PATH}?{urlencode({'job': job_id})}" if base else None


@dataclass
class Sender:
    """Sends one job's message (made by the notify queue's handlers, notify/jobs.py); the
    clients are made on first use unless given."""

    clock: Clock
    twilio_client: Any = None
    smtp_factory: Any = None
    ses_client: Any = None

    def send(self, channel: str, to: str, subject: str, body: str, *, job_id: str,
             html: str | None = None, headers: dict[str, str] | None = None) -> dict:
        if channel == "sms":
            from chalicelib.notify.sms import send_sms

            answer = send_sms(to, body, status_callback=status_callback_url(job_id),
                              client=self.twilio_client)
        elif channel == "email":
            from chalicelib.notify.email import send_email

            answer = send_email(to, subject, body, html=html, headers=headers, smtp_factory=self.smtp_factory,
                                ses_client=self.ses_client)
        else:
            raise ValueError(f"unknown channel {channel!r}")
        # The message is out: failing to record it must not fail the job (a retry would resend).
        try:
            record_sent(job_id, channel, to, answer, clock=self.clock)
        except Exception:
            logger.exception("sent job %s but could not record its delivery", job_id)
        return answer


def _expiry(now: datetime) -> datetime:
    return now + timedelta(seconds=get_settings().deliveries_expire_after_seconds)


def record_sent(job_id: str, channel: str, to: str, answer: dict, *, clock: Clock) -> None:
    """Upsert the delivery record; a status a callback already moved further stays."""

    now = clock()
    status = answer.get("status") or "sent"
    rank = STATUS_RANKS.get(status, 0)
    common = [Delivery.channel.set(channel), Delivery.to.set(mask(to)),
              Delivery.provider.set(answer["provider"]), Delivery.provider_id.set(answer["provider_id"]),
              Delivery.sent_at.set(now), Delivery.updated_at.set(now),
              Delivery.expires_at.set(_expiry(now))]
    record = Delivery(job_id)
    if not update_if(record, common + [Delivery.status.set(status), Delivery.status_rank.set(rank)],
                     Delivery.status_rank.does_not_exist() | (Delivery.status_rank < rank)):
        record.update(actions=common)


def record_twilio_status(job_id: str, message_sid: str, status: str, error_code: str | None, *,
                         clock: Clock) -> bool:
    """Move the job's delivery status on; False when it is stale or for another message."""

    now = clock()
    rank = STATUS_RANKS.get(status, 0)
    actions = [Delivery.status.set(status), Delivery.status_rank.set(rank), Delivery.updated_at.set(now),
               Delivery.channel.set(Delivery.channel | "sms"),
               Delivery.provider.set(Delivery.provider | "twilio"),
               Delivery.provider_id.set(Delivery.provider_id | message_sid),
               Delivery.expires_at.set(_expiry(now))]
    if error_code:
        actions.append(Delivery.error_code.set(error_code))
    condition = ((Delivery.status_rank.does_not_exist() | (Delivery.status_rank < rank))
                 & (Delivery.provider_id.does_not_exist() | (Delivery.provider_id == message_sid)))
    return update_if(Delivery(job_id), actions, condition)
