"""Notify's tables.

- `deliveries`  job id -> one record per SMS or email that reached its provider, with its status.
- `recipients`  (project_id, recipient) -> an outside address asked to receive the project's
                alerts (`recipient` = recipient_id(channel, address)), with its consent state;
                and, under keys starting with "#", the project's daily counters
                (`#messages#<date>`, `#confirmations#<date>`) and, under the project id
                "#address", each address's daily count of confirmation requests.
"""
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


PENDING = "pending"  # asked once; nothing but that request is sent until the recipient confirms
CONFIRMED = "confirmed"
REVOKED = "revoked"  # unsubscribed by the recipient: never asked again, never sent to


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


class Recipient(Model):
    """A project's outside recipient (or a counter: `count`, keys starting with "#")."""

    Meta = table_meta("recipients")

    project_id = UnicodeAttribute(hash_key=True)
    recipient = UnicodeAttribute(range_key=True)
    channel = UnicodeAttribute(null=True)  # email | sms
    address = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)  # pending | confirmed | revoked
    owner_id = UnicodeAttribute(null=True)  # the member who named it; delivery needs them a member
    requested_at = UTCDateTimeAttribute(null=True)
    confirmed_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    count = NumberAttribute(null=True)  # counters only
    expires_at = TTLAttribute(null=True)  # pending requests and counters; checked in code too
