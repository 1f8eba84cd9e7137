"""Users, the keys they sign in with, and their sessions."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
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
