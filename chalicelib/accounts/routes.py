"""The /auth routes (API.md, Accounts). Thin: parse the body, call the service (handing it the
edge's clock, core/edge.py), shape the answer.

Bodies (pydantic) and services are imported inside the views, on the first request
that needs them: `import app` (every cold start of every function) stays cheap.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.auth import client_ip, current_user, session_token
from chalicelib.core.edge import edge
from chalicelib.core.openapi import answers

accounts_routes = Blueprint(__name__)


def session_user(token: str) -> dict | None:
    """The auth middleware's resolver for session tokens (app.py wires it): the public user of a
    live session, by the edge's clock; None for anything else."""
    from chalicelib.accounts.sessions import user_for_token

    return user_for_token(token, clock=edge().clock)


@accounts_routes.route("/auth/codes", methods=["POST"])
@answers(202, "chalicelib.accounts.answers:CodeSent")
def request_code() -> Response:
    """Send a verification code by SMS or email (202; 429 with Retry-After when asked too often)."""
    from chalicelib.accounts.codes import request_code as send_code
    from chalicelib.accounts.schemas import CodeRequest
    from chalicelib.core.validation import parse_body

    request = accounts_routes.current_request
    body = parse_body(request, CodeRequest)
    answer = send_code(body.channel, body.destination, body.purpose, client_ip(request), clock=edge().clock)
    return Response(body=answer, status_code=202)


@accounts_routes.route("/auth/register", methods=["POST"])
@answers(201, "chalicelib.accounts.answers:User")
def register() -> Response:
    """Create an account with a live code sent to its email (or mobile)."""
    from chalicelib.accounts import service
    from chalicelib.accounts.schemas import RegisterBody
    from chalicelib.core.validation import parse_body

    request = accounts_routes.current_request
    body = parse_body(request, RegisterBody)
    user = service.register(body.username, body.password, body.email, body.code, body.mobile,
                            client_ip=client_ip(request), clock=edge().clock)
    return Response(body=user, status_code=201)


@accounts_routes.route("/auth/login", methods=["POST"])
@answers(200, "chalicelib.accounts.answers:Session")
def login() -> Response:
    """Sign in with username, email or mobile and password; remember = 14 days, else 12 h.
    Also sets the console's hat_session and hat_csrf cookies."""
    from chalicelib.accounts import service
    from chalicelib.accounts.browser_cookies import session_cookies
    from chalicelib.accounts.schemas import LoginBody
    from chalicelib.core.validation import parse_body

    request = accounts_routes.current_request
    body = parse_body(request, LoginBody)
    session = service.login(body.account, body.password, remember=body.remember, client_ip=client_ip(request),
                            clock=edge().clock)
    cookies = session_cookies(request, session["token"], remember=body.remember)
    return Response(body=session, status_code=200, headers={"Set-Cookie": cookies})


@accounts_routes.route("/auth/logout", methods=["POST"])
@answers(204)
def logout() -> Response:
    """End this session: the token stops working at once; the console's cookies are cleared."""
    from chalicelib.accounts import service
    from chalicelib.accounts.browser_cookies import cleared_cookies

    request = accounts_routes.current_request
    current_user(request)
    service.logout(session_token(request) or "")
    return Response(body="", status_code=204, headers={"Set-Cookie": cleared_cookies(request)})


@accounts_routes.route("/auth/me", methods=["GET"])
@answers(200, "chalicelib.accounts.answers:User")
def me() -> dict:
    """The signed-in user."""
    return current_user(accounts_routes.current_request)


@accounts_routes.route("/auth/me", methods=["PATCH"])
@answers(200, "chalicelib.accounts.answers:User")
def update_me() -> dict:
    """Change the signed-in user's settings: `{"timezone": "Asia/Shanghai"}` (the dashboard's days)."""
    from chalicelib.accounts import service
    from chalicelib.accounts.schemas import ProfilePatch
    from chalicelib.core.validation import parse_body

    request = accounts_routes.current_request
    user = current_user(request)
    return service.update_profile(user, session_token(request) or "", parse_body(request, ProfilePatch))


@accounts_routes.route("/auth/password/reset", methods=["POST"])
@answers(204)
def reset_password() -> Response:
    """Set a new password with a reset code; every session of the user ends."""
    from chalicelib.accounts import service
    from chalicelib.accounts.schemas import PasswordResetBody
    from chalicelib.core.validation import parse_body

    request = accounts_routes.current_request
    body = parse_body(request, PasswordResetBody)
    service.reset_password(body.account, body.code, body.new_password, client_ip=client_ip(request),
                           clock=edge().clock)
    return Response(body="", status_code=204)
