"""Users, the keys they sign in with, and their sessions."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core.db import table_meta


class User(Model):
    Meta = table_meta("users")

    id = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    email = UnicodeAttribute()
    mobile = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    timezone = UnicodeAttribute(default="UTC")
    disabled = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()

    def to_public(self) -> dict:
        from chalicelib.core.clock import isoformat

        return {"id": self.id, "username": self.username, "email": self.email, "mobile": self.mobile,
                "timezone": self.timezone, "created_at": isoformat(self.created_at)}


class AccountKey(Model):
    """'username#alice', 'email#a@b.com', 'mobile#+8613800138000' -> the user who owns it."""

    Meta = table_meta("account-keys")

    key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class SessionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-user"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)


class Session(Model):
    """A sign-in; only the SHA-256 of its token is stored.

    It carries a snapshot of the public user so that authenticating a request is
    one GetItem; whatever changes the user (disable, profile edit) ends or
    rewrites their sessions.
    """

    Meta = table_meta("sessions")

    token_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    user = JSONAttribute()
    expires_at = TTLAttribute()
    by_user = SessionsByUser()


class VerificationCode(Model):
    """The live code for 'register#<destination>' or 'reset#<user id>': only its HMAC is kept.

    The HMAC covers purpose, destination and code, so a code is bound to both. Each
    check spends one of `code_max_attempts` tries first (an atomic ADD with a
    condition), so even racing guesses get at most that many comparisons.
    """

    Meta = table_meta("verification-codes")

    key = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    channel = UnicodeAttribute()
    destination = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    attempts = NumberAttribute(default=0)  # tries from every client
    client_tries = MapAttribute(default=dict)  # client (hashed IP) -> its tries
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()  # also checked in code: TTL deletion is lazy


class SendHistory(Model):
    """'code-sends#<destination>': when codes were sent there in the last day (epoch seconds).

    Replaced as a whole under an optimistic `version` condition, so of any number of
    racing requests for one destination exactly one is recorded (and sends).
    """

    Meta = table_meta("rate-limits")

    key = UnicodeAttribute(hash_key=True)
    sends = ListAttribute(of=NumberAttribute, default=list)
    version = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class LimitCounter(Model):
    """An atomic counter over a window that starts with its first hit ('login-fail#ip#1.2.3.4')."""

    Meta = table_meta("rate-limits")

    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    window_ends = NumberAttribute()  # epoch seconds
    expires_at = TTLAttribute()
    # Growing delays (login failures): no try before `until`; and per pair inside a client's
    # counter: pairs[account] = that account's failures from this client, pair_until[account].
    until = NumberAttribute(null=True)
    pairs = MapAttribute(default=dict)
    pair_until = MapAttribute(default=dict)
