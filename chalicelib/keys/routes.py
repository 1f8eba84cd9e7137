"""API keys routes (API.md "API keys"): thin; logic in service.py."""
from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.accounts.extensions import on_user_disabled
from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.lazy import lazy_module
from chalicelib.core.openapi import answers
from chalicelib.core.pagination import page_params
from chalicelib.core.validation import parse_body

schemas = lazy_module("chalicelib.keys.schemas")

keys_routes = Blueprint(__name__)


def _revoke_keys_of(user_id: str) -> None:
    from chalicelib.keys.service import revoke_keys_of

    revoke_keys_of(user_id)


# a disabled user's keys stop working with their sessions (accounts/extensions.py)
on_user_disabled(_revoke_keys_of)


def _request():
    return keys_routes.current_request


def key_for_request(token: str, request: Request) -> dict:
    """The auth middleware's resolver for `hat_` bearer tokens."""
    from chalicelib.keys import service

    route = request.context.get("resourcePath", request.path)
    return service.authenticate(token, request.method, route, request.uri_params, clock=edge().clock)


@keys_routes.route("/projects/{project_id}/keys", methods=["POST"])
@answers(201, "chalicelib.keys.answers:KeyCreated")
def create_key(project_id: str) -> Response:
    """Make an API key for this project (members); the key is shown in this answer only."""
    from chalicelib.keys import service

    request = _request()
    body = parse_body(request, schemas.KeyCreate)
    return json_response(service.create_key(current_user(request), project_id, body, clock=edge().clock), 201)


@keys_routes.route("/projects/{project_id}/keys", methods=["GET"])
@answers(200, "chalicelib.keys.answers:KeyPage")
def list_keys(project_id: str) -> dict:
    """The project's API keys (never the keys themselves), with their last use."""
    from chalicelib.keys import service

    request = _request()
    limit, start = page_params(request.query_params)
    return service.list_keys(current_user(request), project_id, limit, start, clock=edge().clock)


@keys_routes.route("/projects/{project_id}/keys/{key_id}", methods=["DELETE"])
@answers(204)
def revoke_key(project_id: str, key_id: str) -> Response:
    """Revoke a key (members): it stops working at once."""
    from chalicelib.keys import service

    service.revoke_key(current_user(_request()), project_id, key_id)
    return Response(body="", status_code=204)


@keys_routes.route("/keys/current", methods=["GET"])
@answers(200, "chalicelib.keys.answers:CurrentKey")
def current_key() -> dict:
    """With an API key: which key this is and its project (what `hat` checks first)."""
    from chalicelib.keys import service

    return service.current_key(current_user(_request()))
