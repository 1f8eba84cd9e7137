"""debugtalk.py routes (docs/sandbox.md): thin; logic in service.py."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.catalog.extensions import register_functions_source
from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.openapi import answers

sandbox_routes = Blueprint(__name__)


def _debugtalk_functions(project_id: str) -> frozenset[str] | None:
    from chalicelib.sandbox.service import project_functions

    return project_functions(project_id)


# catalog checks a test case that calls user code against these (catalog/extensions.py)
register_functions_source(_debugtalk_functions)

# what PUT accepts; anything else is a 415 from the service, naming these
SOURCE_TYPES = ["text/x-python", "text/plain", "application/json", "application/octet-stream"]


def _request():
    return sandbox_routes.current_request


@sandbox_routes.route("/projects/{project_id}/debugtalk", methods=["GET"])
@answers(200, "chalicelib.sandbox.answers:DebugtalkSource")
def get_debugtalk(project_id: str) -> dict:
    """The project's debugtalk.py, its version and its functions; 404 when it has none."""
    from chalicelib.sandbox import service

    return service.get_debugtalk(current_user(_request()), project_id)


@sandbox_routes.route("/projects/{project_id}/debugtalk", methods=["PUT"], content_types=SOURCE_TYPES)
@answers(200, "chalicelib.sandbox.answers:DebugtalkSaved")
def put_debugtalk(project_id: str) -> Response:
    """Save debugtalk.py (the body, text/x-python) as its next version: checked with ast,
    never run by the API; 400 naming the line of a syntax error."""
    from chalicelib.sandbox import service

    request = _request()
    saved = service.put_debugtalk(current_user(request), project_id, request.raw_body,
                                  request.headers.get("content-type", ""), clock=edge().clock)
    return json_response(saved)


@sandbox_routes.route("/projects/{project_id}/debugtalk", methods=["DELETE"])
@answers(204)
def delete_debugtalk(project_id: str) -> Response:
    """Remove debugtalk.py (and the project's sandbox); testcases calling it then fail."""
    from chalicelib.sandbox import service

    service.delete_debugtalk(current_user(_request()), project_id)
    return Response(body="", status_code=204)
