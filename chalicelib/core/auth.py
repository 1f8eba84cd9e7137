"""Access control for every route: IP allow/deny lists first, then a live bearer token.

The middleware only knows how to ask "whose token is this?" (`resolve_token`,
given by app.py from the accounts package) and puts the answer on
`request.context["hat_user"]`; views read it with `current_user`.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from chalice.app import Chalice, Request, Response

from chalicelib.core.errors import Forbidden, HatError, Unauthorized
from chalicelib.core.http import error_response
from chalicelib.core.settings import get_settings

# Routes that need no token (API.md); /hooks/* are signed instead.
PUBLIC_ROUTES = frozenset({
    "/health", "/auth/codes", "/auth/register", "/auth/login", "/auth/password/reset",
    "/openapi.json", "/docs",
})
PUBLIC_PREFIXES = ("/hooks/",)
USER_CONTEXT_KEY = "hat_user"

TokenResolver = Callable[[str], "dict | None"]
# For `hat_` bearer tokens (API keys): (token, request) -> the user the key acts as on this
# route, or a HatError (401 bad key or route, 403 scope, 404 another project, 429 rate).
KeyResolver = Callable[[str, Request], dict]
API_KEY_PREFIX = "hat_"


def _networks(cidrs: Iterable[str]) -> list:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def client_ip(request: Request) -> str:
    return request.context.get("identity", {}).get("sourceIp", "") or ""


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
    return route in PUBLIC_ROUTES or route.startswith(PUBLIC_PREFIXES)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_user(request: Request) -> dict:
    user = request.context.get(USER_CONTEXT_KEY)
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
                token = bearer_token(request)
                if token and resolve_key is not None and token.startswith(API_KEY_PREFIX):
                    user = resolve_key(token, request)
                else:
                    user = resolve_token(token) if token else None
                if user is None:
                    raise Unauthorized("missing, expired or revoked token")
                request.context[USER_CONTEXT_KEY] = user
        except HatError as error:
            return error_response(error)
        return get_response(request)
