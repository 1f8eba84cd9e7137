"""The console's session cookies (API.md, "Web console and browser sessions").

`hat_session` carries the session token, HttpOnly so no script can read it; `hat_csrf` is
readable: the page echoes it in `X-Hat-CSRF` on unsafe requests (core/auth.py checks it).
Both are SameSite=Strict on Path=/, Secure whenever the public URL is https: as configured
(HAT_PUBLIC_URL) or as the request came (API Gateway's X-Forwarded-Proto).
"""
from __future__ import annotations

from chalice.app import Request

from chalicelib.core.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for
from chalicelib.core.settings import get_settings


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https" or get_settings().public_url.lower().startswith("https://")


def _cookie(name: str, value: str, *, http_only: bool, max_age: int | None, secure: bool) -> str:
    parts = [f"{name}={value}", "Path=/", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def session_cookies(request: Request, token: str, *, remember: bool) -> list[str]:
    """Set-Cookie values for a new session: 14 days when remembered, else until the browser closes."""
    max_age = get_settings().remembered_session_expires_after_seconds if remember else None
    secure = is_https(request)
    return [_cookie(SESSION_COOKIE, token, http_only=True, max_age=max_age, secure=secure),
            _cookie(CSRF_COOKIE, csrf_token_for(token), http_only=False, max_age=max_age, secure=secure)]


def cleared_cookies(request: Request) -> list[str]:
    """Set-Cookie values that make the browser drop both cookies."""
    secure = is_https(request)
    return [_cookie(SESSION_COOKIE, "", http_only=True, max_age=0, secure=secure),
            _cookie(CSRF_COOKIE, "", http_only=False, max_age=0, secure=secure)]
