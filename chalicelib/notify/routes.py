"""POST /hooks/twilio/status: Twilio's message status callback, signature checked first."""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode

from chalice import Blueprint, Response

from chalicelib.core.edge import edge
from chalicelib.core.errors import BadRequest, Unauthorized
from chalicelib.core.openapi import answers
from chalicelib.core.parsing import load_form_bounded
from chalicelib.core.settings import get_settings
from chalicelib.notify import TWILIO_STATUS_PATH

logger = logging.getLogger("hat.notify.hooks")
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

    recorded = record_twilio_status(job_id, sid, status, form.get("ErrorCode") or None, clock=edge().clock)
    logger.info("twilio status %s for job %s (%s)", status, job_id, "recorded" if recorded else "stale")
    return Response(body="", status_code=204)


# --- recipients: links in messages (no account: the signed token is the authority) -------------

_PAGE = ('<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" '
         'content="width=device-width"><meta name="robots" content="noindex"><title>hat alerts</title></head>'
         '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:36em;'
         'margin:2em auto;padding:0 1em">{}</body></html>')
# The pages embed no script, style sheet or frame, and no one else may frame them.
_PAGE_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                            "form-action 'self'; frame-ancestors 'none'",
                 "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def _page(html: str) -> Response:
    return Response(body=_PAGE.format(html), status_code=200, headers=_PAGE_HEADERS)


def _token() -> str:
    """The token of a link: in the query (links, List-Unsubscribe) or a posted form field."""
    request = notify_routes.current_request
    token = (request.query_params or {}).get("token")
    if token is None and request.method == "POST" and request.raw_body:
        raw = request.raw_body[:4096].decode("utf-8", "replace")
        token = dict(parse_qsl(raw, keep_blank_values=True)).get("token")
    return token or ""


def _about(action: str) -> str:
    from html import escape

    from chalicelib.notify.messages import MAX_NAME_CHARS, inert
    from chalicelib.notify.recipients import link_target

    target = link_target(action, _token())
    where = escape(target["address"]) if target["address"] else "this address"
    name = escape(inert(target["project"], MAX_NAME_CHARS))
    return f"the test alerts of the project <b>{name}</b> at {where}"


# A GET only shows a button: mail scanners open links, and must not confirm or unsubscribe anyone.
@notify_routes.route("/hooks/recipients/confirm", methods=["GET"])
@answers(200, media_type="text/html", description="a page with a button that confirms")
def confirm_page() -> Response:
    """The confirmation link's page: what it is about, and a button that confirms."""
    return _page(f"<h2>Receive {_about('confirm')}?</h2>"
                 '<form method="post"><button type="submit">Yes, send me these alerts</button></form>'
                 "<p>If you do nothing, nothing more is sent to you.</p>")


@notify_routes.route("/hooks/recipients/confirm", methods=["POST"],
                     content_types=["application/x-www-form-urlencoded"])
@answers(200, media_type="text/html", description="confirmed")
def confirm_recipient() -> Response:
    """Confirm: the address receives the project's alerts from now on (each with an unsubscribe link)."""
    from chalicelib.notify.recipients import confirm

    confirm(_token(), clock=edge().clock)
    return _page("<h2>Confirmed.</h2><p>Every alert carries a link to unsubscribe.</p>")


@notify_routes.route("/hooks/recipients/unsubscribe", methods=["GET"])
@answers(200, media_type="text/html", description="a page with a button that unsubscribes")
def unsubscribe_page() -> Response:
    """The unsubscribe link's page: a button that stops the alerts."""
    return _page(f"<h2>Stop {_about('unsubscribe')}?</h2>"
                 '<form method="post"><button type="submit">Unsubscribe</button></form>')


@notify_routes.route("/hooks/recipients/unsubscribe", methods=["POST"],
                     content_types=["application/x-www-form-urlencoded"])
@answers(200, media_type="text/html", description="unsubscribed")
def unsubscribe_recipient() -> Response:
    """Unsubscribe (also RFC 8058's one-click POST): nothing more is sent; the project cannot ask again."""
    from chalicelib.notify.recipients import unsubscribe

    unsubscribe(_token(), clock=edge().clock)
    return _page("<h2>Unsubscribed.</h2><p>You will get no more alerts from this project.</p>")


@notify_routes.route("/projects/{project_id}/recipients", methods=["GET"])
@answers(200, "chalicelib.notify.answers:RecipientPage")
def list_recipients(project_id: str) -> dict:
    """The project's outside recipients and where each stands (pending, confirmed, unsubscribed)."""
    from chalicelib.core.auth import current_user
    from chalicelib.core.pagination import page_params
    from chalicelib.notify.recipients import list_recipients as listed

    request = notify_routes.current_request
    limit, start = page_params(request.query_params)
    return listed(current_user(request), project_id, limit, start, clock=edge().clock)


@notify_routes.route("/projects/{project_id}/alerts/{alert_id}/test", methods=["POST"])
@answers(200, "chalicelib.notify.answers:AlertTest")
def test_alert(project_id: str, alert_id: str) -> dict:
    """Send a test message on one of the project's alert channels; says whether it was taken."""
    from chalicelib.core.auth import current_user
    from chalicelib.notify.alerts import send_test

    parts = edge()
    return send_test(current_user(notify_routes.current_request), project_id, alert_id,
                     runner=parts.runner, clock=parts.clock)
