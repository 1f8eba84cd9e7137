"""debugtalk.py routes (docs/sandbox.md): thin; logic in service.py."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.auth import current_user
from chalicelib.core.http import json_response
from chalicelib.core.openapi import answers

sandbox_routes = Blueprint(__name__)

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
                                  request.headers.get("content-type", ""))
    return json_response(saved)


@sandbox_routes.route("/projects/{project_id}/debugtalk", methods=["DELETE"])
@answers(204)
def delete_debugtalk(project_id: str) -> Response:
    """Remove debugtalk.py (and the project's sandbox); testcases calling it then fail."""
    from chalicelib.sandbox import service

    service.delete_debugtalk(current_user(_request()), project_id)
    return Response(body="", status_code=204)
