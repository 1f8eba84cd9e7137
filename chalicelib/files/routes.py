"""Project files routes (API.md "Project files"): thin; logic in service.py.

A file travels as the raw request body (PUT) and answer (GET), not JSON. API Gateway hands
Lambda the bytes of BINARY_TYPES untouched (base64 in between); other text types arrive as
UTF-8 text: send binary files as application/octet-stream."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.catalog.extensions import on_project_purged
from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.openapi import answers

files_routes = Blueprint(__name__)


def _purge_files(project_id: str) -> int:
    from chalicelib.files.service import purge_project_files

    return purge_project_files(project_id)


# a deleted project's files go in catalog's cleanup job (catalog/extensions.py)
on_project_purged(_purge_files)

# what app.py adds to the API's binary types (application/octet-stream is one already)
BINARY_TYPES = ["text/csv"]
UPLOAD_TYPES = ["application/octet-stream", "text/csv", "text/plain", "application/json",
                "application/x-yaml", "text/yaml", "application/xml", "text/xml"]


def _path() -> object:
    return (files_routes.current_request.query_params or {}).get("path")


@files_routes.route("/projects/{project_id}/files", methods=["GET"])
@answers(200, "chalicelib.files.answers:FileList")
def list_or_get_file(project_id: str) -> Response | dict:
    """The project's files; with ?path=, that file's bytes instead (application/octet-stream,
    X-Sha256: their SHA-256)."""
    from chalicelib.files import service

    user = current_user(files_routes.current_request)
    path = _path()
    if path is None:
        return service.list_files(user, project_id)
    data, view = service.get_file(user, project_id, path)
    return Response(body=data, status_code=200,
                    headers={"Content-Type": "application/octet-stream", "X-Sha256": view["sha256"]})


@files_routes.route("/projects/{project_id}/files", methods=["PUT"], content_types=UPLOAD_TYPES)
@answers(201, "chalicelib.files.answers:FileInfo", description="a new file")
@answers(200, "chalicelib.files.answers:FileInfo", description="a file replaced")
def put_file(project_id: str) -> Response:
    """Upload a file (members): the raw body is the file, ?path=data/users.csv names it."""
    from chalicelib.files import service

    request = files_routes.current_request
    view, created = service.put_file(current_user(request), project_id, _path(), request.raw_body or b"",
                                     clock=edge().clock)
    return json_response(view, 201 if created else 200)


@files_routes.route("/projects/{project_id}/files", methods=["DELETE"])
@answers(204)
def delete_file(project_id: str) -> Response:
    """Delete a file (members)."""
    from chalicelib.files import service

    service.delete_file(current_user(files_routes.current_request), project_id, _path())
    return Response(body="", status_code=204)
