"""One exception tree for everything a client can get wrong, and its HTTP form.

Services raise these; the HTTP middleware (core/http.py) turns them into
`{"error": {"code", "message", "fields"?}}` with the status below. They subclass
ChaliceUnhandledError so that Chalice lets them reach the middleware instead of
turning them into a bare 500 first.
"""
from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError


class HatError(ChaliceUnhandledError):
    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def to_body(self) -> dict[str, dict[str, Any]]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


class BadRequest(HatError):
    status_code = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    code = "invalid_field"

    def __init__(self, fields: dict[str, str], message: str | None = None, **kwargs: Any) -> None:
        summary = message or "; ".join(f"{name}: {text}" for name, text in fields.items())
        super().__init__(summary, fields=fields, **kwargs)


class Unauthorized(HatError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HatError):
    status_code = 403
    code = "forbidden"


class NotFound(HatError):
    status_code = 404
    code = "not_found"


class Conflict(HatError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HatError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(HatError):
    status_code = 415
    code = "unsupported_media_type"


class _RetryLater(HatError):
    def __init__(self, message: str, *, retry_after_seconds: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        self.headers["Retry-After"] = str(self.retry_after_seconds)


class TooManyRequests(_RetryLater):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(_RetryLater):
    status_code = 503
    code = "service_unavailable"
