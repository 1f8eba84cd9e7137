"""What the /auth routes answer (see core/answers.py): a user never carries a password hash."""
from __future__ import annotations

from chalicelib.core.answers import Answer, Time


class User(Answer):
    """An account as its owner (or a teammate) sees it."""

    id: str
    username: str
    email: str
    mobile: str | None
    timezone: str = "UTC"  # the dashboard's days; sessions from before it existed lack it
    created_at: Time


class Session(Answer):
    """A signed-in session: send `Authorization: Bearer <token>` until expires_at."""

    token: str
    expires_at: Time
    user: User


class CodeSent(Answer):
    """A verification code is on its way."""

    expires_in: int
    resend_after: int
