"""Session tokens: 32 random bytes to the client, only their SHA-256 at rest."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from chalicelib.accounts.models import Session
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import get_or_none, update_if
from chalicelib.core.settings import get_settings

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(user: User, *, remember: bool = False, clock: Clock) -> tuple[str, datetime]:
    """A new token for the (public) user and when it expires (14 days if remembered, else 12 h)."""
    settings = get_settings()
    lifetime = (settings.remembered_session_expires_after_seconds if remember
                else settings.session_expires_after_seconds)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = clock() + timedelta(seconds=lifetime)
    Session(hash_token(token), user_id=user["id"], user=user, expires_at=expires_at).save()
    return token, expires_at


def user_for_token(token: str, *, clock: Clock) -> dict | None:
    """The public user behind a live token, or None (unknown, expired, revoked). One GetItem."""
    session = get_or_none(Session, hash_token(token)) if token else None
    # TTL deletion is lazy (and absent in the emulator): expiry is checked here too.
    if session is None or session.expires_at <= clock():
        return None
    return session.user


def revoke_token(token: str) -> None:
    Session(hash_token(token)).delete()


def session_hashes(user_id: str) -> list[str]:
    """The token hashes of the user's sessions. One Query on the by-user index (eventually
    consistent, as every GSI: a session made a moment ago may be missing)."""
    return [row.token_hash for row in Session.by_user.query(user_id)]


def revoke_sessions(token_hashes: list[str]) -> int:
    """Delete these sessions: BatchWriteItem, 25 per call; returns how many."""
    with Session.batch_write() as batch:
        for token_hash in token_hashes:
            batch.delete(Session(token_hash))
    return len(token_hashes)


def revoke_all_sessions(user_id: str) -> int:
    """End every session of the user (disabling); returns how many. Query + BatchWriteItem."""
    return revoke_sessions(session_hashes(user_id))


def refresh_sessions(token_hashes: list[str], user: User) -> int:
    """Rewrite these sessions' user snapshot, one UpdateItem each; a session ended meanwhile
    stays ended (the update requires it to exist). Returns how many were rewritten."""
    return sum(update_if(Session(token_hash), [Session.user.set(user)], Session.token_hash.exists())
               for token_hash in token_hashes)
