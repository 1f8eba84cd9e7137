"""HTTP middleware: body size limit and one error shape for every failure."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chalice.app import Chalice, Request, Response

from chalicelib.core.errors import HatError, PayloadTooLarge
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


def error_response(error: HatError) -> Response:
    return Response(body=error.to_body(), status_code=error.status_code, headers=dict(error.headers))


def json_response(body: object, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status_code, headers=headers or {})


def _reshape_chalice_error(response: Response) -> Response:
    """Chalice answers some failures itself as {"Code", "Message"}; give them our shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    code = _CHALICE_CODES.get(body["Code"], "error")
    response.body = {"error": {"code": code, "message": body["Message"]}}
    return response


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
    return _reshape_chalice_error(response)
