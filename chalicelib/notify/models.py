"""One record per SMS or email that reached its provider, with its delivery status."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.core.db import table_meta

# Twilio's message statuses in the order they can happen; a late callback for an
# earlier status never overwrites a later one.
STATUS_RANKS = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
    "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5,
}


class Delivery(Model):
    Meta = table_meta("deliveries")

    id = UnicodeAttribute(hash_key=True)  # the job id
    channel = UnicodeAttribute(null=True)  # sms | email
    to = UnicodeAttribute(null=True)  # masked: +86138****8000, a***@example.com
    provider = UnicodeAttribute(null=True)  # twilio | smtp | ses
    provider_id = UnicodeAttribute(null=True)  # Twilio's MessageSid, the email's Message-ID
    status = UnicodeAttribute(null=True)
    status_rank = NumberAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
