"""Verification codes: asked for by the route, made and sent by the worker, spent once.

The route (`request_code`) only applies the rate limits and enqueues a job; the
worker (`deliver_code`) draws the 6 digits, stores their HMAC and sends them, so the
plain code never sits in a queue or a dead-letter queue. Nothing in the answer
depends on whether an account exists for the destination: for a reset with no
account the worker sends nothing; for a registration to an address that already has
an account it sends a notice instead of a code.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.accounts.limits import SendRules, hit, record_send, short_hash
from chalicelib.accounts.models import AccountKey, LimitCounter, SendHistory, VerificationCode
from chalicelib.core.clock import Clock
from chalicelib.core.db import condition_failed, get_many, get_or_none
from chalicelib.core.errors import TooManyRequests
from chalicelib.core.settings import get_settings

logger = logging.getLogger("hat.accounts.codes")

CODE_DIGITS = 6
CHANNELS = ("sms", "email")
PURPOSES = ("register", "reset")
JOB_KIND = "verification_code"
# send(channel, to, subject, body) -> whatever the provider answered
Send = Callable[[str, str, str, str], object]


def destination_key(channel: str, destination: str) -> str:
    """The account-key claim a destination would have ('email#a@b.com', 'mobile#+86...')."""
    return f"{'mobile' if channel == 'sms' else 'email'}#{destination}"


def code_hash(purpose: str, destination: str, code: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{purpose}|{destination}|{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def send_rules() -> SendRules:
    settings = get_settings()
    return SendRules(resend_seconds=settings.code_resend_seconds, window_seconds=settings.code_window_seconds,
                     window_limit=settings.code_window_limit,
                     daily_limit=settings.code_daily_limit_per_destination)


def request_code(channel: str, destination: str, purpose: str, client_ip: str, *,
                 clock: Clock, enqueue: Callable[[str, dict], str] | None = None) -> dict:
    """Apply the limits and enqueue the send; the same answer whether or not an account exists.

    DynamoDB: one BatchGetItem (destination history + IP counter), one conditional
    PutItem, one UpdateItem (IP counter).
    """
    if enqueue is None:
        from chalicelib.core.jobs import enqueue
    settings = get_settings()
    now = clock()
    ip_key = f"code-sends#ip#{client_ip or 'unknown'}"
    history, ip_counter = get_many([(SendHistory, f"code-sends#{destination}"), (LimitCounter, ip_key)])
    if ip_counter is not None and ip_counter.count >= settings.code_daily_limit_per_ip \
            and ip_counter.window_ends > now.timestamp():
        raise TooManyRequests(f"at most {settings.code_daily_limit_per_ip} codes per day from one address",
                              retry_after_seconds=ip_counter.window_ends - now.timestamp(),
                              code="too_many_codes")
    record_send(history, destination, send_rules(), now)
    hit(ip_key, 24 * 3600, now, seen=ip_counter)
    enqueue(channel, {"kind": JOB_KIND, "channel": channel, "destination": destination, "purpose": purpose})
    return {"expires_in": settings.code_ttl_seconds, "resend_after": settings.code_resend_seconds}


def _messages(purpose: str, code: str, minutes: int) -> tuple[str, str]:
    if purpose == "reset":
        return ("Your hat password reset code",
                f"Your hat password reset code is {code}. It expires in {minutes} minutes. "
                "If you did not ask for it, ignore this message.")
    return ("Your hat verification code",
            f"Your hat verification code is {code}. It expires in {minutes} minutes.")


ALREADY_REGISTERED = ("Your hat account",
                      "Someone asked to register a hat account with this address, which already has "
                      "one. If it was you, sign in or reset your password instead.")


def deliver_code(payload: dict, *, send: Send, clock: Clock) -> dict:
    """The worker's half: draw a code, store its HMAC (5-minute life), send it."""
    channel, destination, purpose = payload["channel"], payload["destination"], payload["purpose"]
    settings = get_settings()
    now = clock()
    owner = get_or_none(AccountKey, destination_key(channel, destination))
    if purpose == "reset":
        if owner is None:
            logger.info("reset code for a destination with no account: nothing sent")
            return {"status": "skipped"}
        record_key = f"reset#{owner.user_id}"
    else:
        if owner is not None:
            subject, text = ALREADY_REGISTERED
            send(channel, destination, subject, text)
            return {"status": "notice"}
        record_key = f"register#{destination}"
    code = new_code()
    store_code(record_key, channel, destination, purpose, code, now)
    subject, text = _messages(purpose, code, max(1, settings.code_ttl_seconds // 60))
    send(channel, destination, subject, text)
    return {"status": "sent"}


def store_code(record_key: str, channel: str, destination: str, purpose: str, code: str,
               now: datetime) -> VerificationCode:
    """Replace any earlier code for this key: the latest code is the live one."""
    record = VerificationCode(record_key, purpose=purpose, channel=channel, destination=destination,
                              code_hash=code_hash(purpose, destination, code), attempts=0, created_at=now,
                              expires_at=now + timedelta(seconds=get_settings().code_ttl_seconds))
    record.save()
    return record


def spend_try(record_key: str, purpose: str, code: str, now: datetime,
              client: str = "") -> VerificationCode | None:
    """Spend one try on the live code at `record_key`; the record if `code` is right, else None.

    The try is counted before comparing (ADD with a condition: live, tries left), so
    racing guesses get `code_max_attempts` comparisons per client (hashed IP) and
    `code_max_attempts_all_clients` in all: one client's guesses cannot use up the tries of
    the owner's. No code at the key (an unknown account): the same one conditional write,
    which changes nothing. A right code is not consumed here: the caller deletes it in the
    transaction that uses it.
    """
    from pynamodb.exceptions import UpdateError

    settings = get_settings()
    tries = VerificationCode.client_tries[short_hash(client or "unknown")]
    record = VerificationCode(record_key)
    try:
        record.update(
            actions=[VerificationCode.attempts.add(1), tries.set((tries | 0) + 1)],
            condition=(VerificationCode.attempts < settings.code_max_attempts_all_clients)
            & VerificationCode.client_tries.exists()
            & (tries.does_not_exist() | (tries < settings.code_max_attempts))
            & (VerificationCode.expires_at > now) & (VerificationCode.purpose == purpose))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return None  # no code, expired, used, or out of tries
    if hmac.compare_digest(record.code_hash, code_hash(purpose, record.destination, code)):
        return record
    return None


def consume_condition(record: VerificationCode):
    """The condition under which a transaction may delete (use) this code: still the same one."""
    return VerificationCode.code_hash == record.code_hash
