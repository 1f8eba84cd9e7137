"""The console's session cookies (API.md, "Web console and browser sessions").

`hat_session` carries the session token, HttpOnly so no script can read it; `hat_csrf` is
readable: the page echoes it in `X-Hat-CSRF` on unsafe requests (core/auth.py checks it).
Both are SameSite=Strict on Path=/, Secure whenever the public URL is https.
"""
from __future__ import annotations

from chalicelib.core.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for
from chalicelib.core.settings import get_settings


def _secure() -> bool:
    return get_settings().public_url.lower().startswith("https://")


def _cookie(name: str, value: str, *, http_only: bool, max_age: int | None) -> str:
    parts = [f"{name}={value}", "Path=/", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if http_only:
        parts.append("HttpOnly")
    if _secure():
        parts.append("Secure")
    return "; ".join(parts)


def session_cookies(token: str, *, remember: bool) -> list[str]:
    """Set-Cookie values for a new session: 14 days when remembered, else until the browser closes."""
    max_age = get_settings().remembered_session_expires_after_seconds if remember else None
    return [_cookie(SESSION_COOKIE, token, http_only=True, max_age=max_age),
            _cookie(CSRF_COOKIE, csrf_token_for(token), http_only=False, max_age=max_age)]


def cleared_cookies() -> list[str]:
    """Set-Cookie values that make the browser drop both cookies."""
    return [_cookie(SESSION_COOKIE, "", http_only=True, max_age=0),
            _cookie(CSRF_COOKIE, "", http_only=False, max_age=0)]
