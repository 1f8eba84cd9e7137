"""What the notify routes answer (see core/answers.py)."""
from __future__ import annotations

from typing import Literal

from chalicelib.core.answers import Answer, Page, Time


class RecipientState(Answer):
    """An outside address named for the project's alerts, and where it stands. `owner_id`: the
    member who named it; while they are not a member (`owner_is_member` false) it gets nothing."""

    channel: Literal["email", "sms"] | None
    address: str | None  # None: a member's own address that unsubscribed
    state: Literal["pending", "expired", "confirmed", "revoked"]
    owner_id: str | None
    owner_is_member: bool
    requested_at: Time | None
    confirmed_at: Time | None
    revoked_at: Time | None


class RecipientPage(Page[RecipientState]):
    """A project's outside recipients."""


class AlertTest(Answer):
    """A test message's fate: delivered (chat channels, with the provider's status), queued
    (email, SMS), failed (with why), or why an address may not receive it."""

    alert_id: str
    type: str
    outcome: str
    status_code: int | None = None
    error: str | None = None
