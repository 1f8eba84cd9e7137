"""POST /hooks/twilio/status: Twilio's message status callback, signature checked first."""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.core.errors import BadRequest, Unauthorized
from chalicelib.core.openapi import answers
from chalicelib.core.parsing import load_form_bounded
from chalicelib.core.settings import get_settings

logger = logging.getLogger("hat.notify.hooks")
TWILIO_STATUS_PATH = "/hooks/twilio/status"  # also in the status callback URL (service.py)
notify_routes = Blueprint(__name__)


def public_url_of(request) -> str:
    """The URL Twilio called, as Twilio saw it: HAT_PUBLIC_URL (scheme, host, stage) + path + query."""
    url = get_settings().public_url.rstrip("/") + request.path
    query = request.query_params or {}
    pairs = [(name, value) for name in query for value in query.getlist(name)]
    return f"{url}?{urlencode(pairs)}" if pairs else url


def twilio_signature_valid(request, form: dict[str, str]) -> bool:
    from twilio.request_validator import RequestValidator, get_signature_algorithm

    settings = get_settings()
    signature = request.headers.get("x-twilio-signature", "")
    if not (signature and settings.twilio_auth_token and settings.public_url):
        return False
    algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings", ""))
    return RequestValidator(settings.twilio_auth_token).validate(public_url_of(request), form, signature,
                                                                  algorithm=algorithm)


@notify_routes.route(TWILIO_STATUS_PATH, methods=["POST"],
                     content_types=["application/x-www-form-urlencoded"])
@answers(204)
def twilio_status() -> Response:
    """Twilio's message status callback (X-Twilio-Signature checked): records the delivery status."""
    request = notify_routes.current_request
    form = load_form_bounded(request.raw_body)
    if not twilio_signature_valid(request, form):
        raise Unauthorized("bad Twilio signature", code="bad_signature")
    job_id = (request.query_params or {}).get("job", "")
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    missing = {name: "required" for name, value in
               (("job", job_id), ("MessageSid", sid), ("MessageStatus", status)) if not value}
    if missing:
        raise BadRequest("the callback lacks " + ", ".join(missing), fields=missing, code="invalid_field")
    from chalicelib.notify.service import record_twilio_status

    recorded = record_twilio_status(job_id, sid, status, form.get("ErrorCode") or None)
    logger.info("twilio status %s for job %s (%s)", status, job_id, "recorded" if recorded else "stale")
    return Response(body="", status_code=204)
