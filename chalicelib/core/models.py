"""Tables shared by every feature: job idempotency records."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.core.db import table_meta


class IdempotencyRecord(Model):
    """One per job that must run at most once (an SMS send, a run, a notification)."""

    Meta = table_meta("idempotency")

    key = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # IN_PROGRESS | COMPLETED
    # While IN_PROGRESS, another delivery waits until this epoch second (a crashed worker's
    # claim is taken over after it); DynamoDB deletes the item at `expires_at`.
    in_progress_until = NumberAttribute()
    expires_at = TTLAttribute()
