"""HTTP middleware: body size limit and one error shape for every failure."""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib.core.db import error_code
from chalicelib.core.errors import HatError, PayloadTooLarge, ServiceUnavailable
from chalicelib.core.logs import log_context
from chalicelib.core.settings import get_settings

logger = logging.getLogger("hat.http")

# Chalice's own error codes (bad JSON, unsupported media type, 405, 500...) in our snake_case.
_CHALICE_CODES = {
    "BadRequestError": "bad_request",
    "BadRequest": "bad_request",
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


# What a method and path no route serves answers, in the API's shape: API Gateway's
# MISSING_AUTHENTICATION_TOKEN gateway response on AWS (infra/package.py) and the local
# server (infra/local/server.py) both send this body, instead of 403 "Missing
# Authentication Token".
UNKNOWN_ROUTE_STATUS = 404
UNKNOWN_ROUTE_BODY = {"error": {"code": "not_found", "message": "no such route: check the method and path"}}


def error_response(error: HatError) -> Response:
    headers: dict[str, str | list[str]] = {**error.headers}
    return Response(body=error.to_body(), status_code=error.status_code, headers=headers)


def json_response(body: object, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    sent: dict[str, str | list[str]] = {**(headers or {})}
    return Response(body=body, status_code=status_code, headers=sent)


def _reshape_chalice_error(response: Response) -> Response:
    """Chalice answers some failures itself as {"Code", "Message"}; give them our shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    code = _CHALICE_CODES.get(body["Code"], "error")
    response.body = {"error": {"code": code, "message": body["Message"]}}
    return response


# AWS answers that mean "slow down / try again", left after botocore's own retries.
THROTTLING_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "Throttling", "TooManyRequestsException", "SlowDown", "RequestThrottled",
})


def is_throttling(error: BaseException) -> bool:
    """Does the error (or one it was raised from) carry an AWS throttling code?"""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if error_code(current) in THROTTLING_CODES:
            return True
        current = current.__cause__ or current.__context__ or getattr(current, "cause", None)
    return False


def unavailable(error: BaseException) -> ServiceUnavailable:
    logger.warning("AWS throttled past its retries: %s", error)
    return ServiceUnavailable("the service is busy; retry shortly", retry_after_seconds=1, code="busy")


def _translating(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view, with AWS throttling past the retries raised as a 503 (Retry-After)."""
    @functools.wraps(view)
    def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except HatError:
            raise
        except Exception as error:
            if is_throttling(error):
                raise unavailable(error) from error
            raise

    translated.__dict__[_TRANSLATED] = True
    return translated


_TRANSLATED = "__hat_translated__"


def translate_throttling(app: Chalice) -> None:
    """Wrap every route's view (call it after the last blueprint is registered).

    Chalice turns any other view exception into a 500 before middleware sees it (only
    ChaliceUnhandledError passes through), so the translation has to sit on the view.
    """
    for methods in app.routes.values():
        for entry in methods.values():
            if not entry.view_function.__dict__.get(_TRANSLATED, False):
                entry.view_function = _translating(entry.view_function)


def body_size(request: Request) -> int:
    raw = request.raw_body
    return len(raw) if raw else 0


def register_http_middleware(app: Chalice) -> None:
    @app.middleware("http")
    def errors_and_limits(request: Request, get_response: Callable[[Request], Response]) -> Response:
        started = time.perf_counter()
        with log_context(request_id=request.context.get("requestId", "")):
            response = _respond(request, get_response)
            logger.info("%s %s -> %d", request.method, request.path, response.status_code,
                        extra={"status": response.status_code,
                               "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return response


def _respond(request: Request, get_response: Callable[[Request], Response]) -> Response:
    limit = get_settings().max_body_bytes
    if body_size(request) > limit:
        return error_response(PayloadTooLarge(f"request body is over the {limit}-byte limit"))
    try:
        response = get_response(request)
    except HatError as error:
        return error_response(error)
    except Exception as error:  # raised by an inner middleware (e.g. auth's session lookup)
        if is_throttling(error):
            return error_response(unavailable(error))
        raise
    return _reshape_chalice_error(response)


def html_headers(content_security_policy: str, cache_control: str = "no-cache") -> dict[str, str]:
    """The headers every HTML answer carries: its CSP (never inline script or eval, never
    framed), no MIME sniffing, no full URL leaked to other sites."""
    return {"Content-Type": "text/html; charset=utf-8", "Cache-Control": cache_control,
            "Content-Security-Policy": content_security_policy,
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
