"""Access control for every route: IP allow/deny lists first, then a live session token.

The token comes from `Authorization: Bearer` or, for the web console, the `hat_session`
cookie; a cookie-authenticated unsafe request must also carry `X-Hat-CSRF` (API.md, "Web
console and browser sessions"). The middleware only knows how to ask "whose token is
this?" (`resolve_token`, given by app.py from the accounts package) and puts the answer on
`request.context["hat_user"]`; views read it with `current_user`.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable
from typing import NotRequired, TypedDict

from chalice.app import Chalice, Request, Response

from chalicelib.core.errors import Forbidden, HatError, Unauthorized
from chalicelib.core.http import error_response
from chalicelib.core.settings import get_settings

# Routes that need no token (API.md); /hooks/* are signed instead.
PUBLIC_ROUTES = frozenset({
    "/health", "/auth/codes", "/auth/register", "/auth/login", "/auth/password/reset",
    "/openapi.json", "/docs",
})
PUBLIC_PREFIXES = ("/hooks/", "/ui/")  # /ui/: the console's static pages (chalicelib/console)
USER_CONTEXT_KEY = "hat_user"
SESSION_COOKIE = "hat_session"
CSRF_COOKIE = "hat_csrf"
CSRF_HEADER = "x-hat-csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})



class ApiKeyUse(TypedDict):
    """The API key a request is made with (keys/service.py's ``authenticate``)."""

    id: str
    name: str
    project_id: str
    scopes: list[str]


class User(TypedDict):
    """The user a request acts as (``current_user``): the public user a session carries
    (accounts' ``User.to_public``), plus ``api_key`` when the request came with one."""

    id: str
    username: str
    email: str
    mobile: str | None
    timezone: str
    created_at: str  # ISO 8601, UTC
    api_key: NotRequired[ApiKeyUse]


TokenResolver = Callable[[str], "User | None"]
# For `hat_` bearer tokens (API keys): (token, request) -> the user the key acts as on this
# route, or a HatError (401 bad key or route, 403 scope, 404 another project, 429 rate).
KeyResolver = Callable[[str, Request], User]
API_KEY_PREFIX = "hat_"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(cidrs: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def client_ip(request: Request) -> str:
    return str(request.context.get("identity", {}).get("sourceIp", "") or "")


def ip_permitted(ip: str, allow: Iterable[str], deny: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return not list(allow)
    if any(address in network for network in _networks(deny)):
        return False
    allowed = _networks(allow)
    return not allowed or any(address in network for network in allowed)


def is_public(route: str) -> bool:
    return route in ("/", "/ui") or route in PUBLIC_ROUTES or route.startswith(PUBLIC_PREFIXES)


def bearer_token(request: Request) -> str | None:
    header: str = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def cookie(request: Request, name: str) -> str | None:
    """One cookie's value from the Cookie header (no http.cookies: it rejects whole headers
    over one odd pair, and a browser sends other sites' cookies on localhost too)."""
    header: str = request.headers.get("cookie", "")
    for pair in header.split(";"):
        key, separator, value = pair.strip().partition("=")
        if separator and key == name and value:
            return value
    return None


def session_token(request: Request) -> str | None:
    """The request's token: the bearer header wins over the console's cookie."""
    return bearer_token(request) or cookie(request, SESSION_COOKIE)


def csrf_token_for(token: str) -> str:
    """The CSRF proof bound to a session token: a page that cannot read the HttpOnly session
    cookie cannot forge it, and a planted hat_csrf cookie matches no session."""
    return hashlib.sha256(b"hat-csrf:" + token.encode()).hexdigest()


def csrf_refused(request: Request) -> bool:
    """A cookie-authenticated unsafe request without the session's X-Hat-CSRF header."""
    if request.method not in UNSAFE_METHODS or bearer_token(request):
        return False
    token = cookie(request, SESSION_COOKIE) or ""
    return not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf_token_for(token))


def current_user(request: Request) -> User:
    user: User | None = request.context.get(USER_CONTEXT_KEY)  # put there by access_control
    if user is None:
        raise Unauthorized("sign in first: Authorization: Bearer <token>")
    return user


def register_auth_middleware(app: Chalice, resolve_token: TokenResolver,
                             resolve_key: KeyResolver | None = None) -> None:
    @app.middleware("http")
    def access_control(request: Request, get_response: Callable[[Request], Response]) -> Response:
        settings = get_settings()
        try:
            if not ip_permitted(client_ip(request), settings.ip_allow, settings.ip_deny):
                raise Forbidden("requests from this address are not allowed", code="ip_not_allowed")
            route = request.context.get("resourcePath", request.path)
            if not is_public(route):
                bearer = bearer_token(request)
                user: User | None
                if bearer and resolve_key is not None and bearer.startswith(API_KEY_PREFIX):
                    user = resolve_key(bearer, request)  # API keys come as Bearer only
                else:
                    token = bearer or cookie(request, SESSION_COOKIE)
                    user = resolve_token(token) if token else None
                if user is None:
                    raise Unauthorized("missing, expired or revoked token")
                if csrf_refused(request):
                    raise Forbidden("send the hat_csrf cookie's value in X-Hat-CSRF", code="csrf_failed")
                request.context[USER_CONTEXT_KEY] = user
        except HatError as error:
            return error_response(error)
        return get_response(request)
