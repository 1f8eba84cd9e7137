"""Import routes (API.md, Imports; docs/imports.md): thin; the logic is in service.py."""

from __future__ import annotations

from collections.abc import Callable

from chalice import Blueprint, Response

from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.lazy import lazy_module
from chalicelib.core.openapi import answers

service = lazy_module("chalicelib.imports.service")

imports_routes = Blueprint(__name__)
# The source as it is: JSON (Postman, HAR, OpenAPI), YAML (OpenAPI), text (cURL).
SOURCE_TYPES = [
    "application/json",
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/plain",
    "application/octet-stream",
]


def _import_source(import_into: Callable[..., tuple[int, dict]], target_id: str) -> Response:
    """Hand the request's source to an import service function and answer with its status."""
    request = imports_routes.current_request
    status, body = import_into(
        current_user(request), target_id, request.raw_body, request.query_params or {}, clock=edge().clock
    )
    return json_response(body, status)


@imports_routes.route("/modules/{module_id}/import", methods=["POST"], content_types=SOURCE_TYPES)
@answers(201, "chalicelib.imports.answers:ModuleImport")
@answers(200, "chalicelib.imports.answers:ImportPreview")
def import_into_module(module_id: str) -> Response:
    """Import a Postman collection, HAR, OpenAPI document or cURL commands into a module;
    ?format= (else detected), ?dry_run=1 previews."""
    return _import_source(service.import_into_module, module_id)


@imports_routes.route("/projects/{project_id}/import", methods=["POST"], content_types=SOURCE_TYPES)
@answers(201, "chalicelib.imports.answers:ProjectImport")
@answers(200, "chalicelib.imports.answers:ImportPreview")
def import_into_project(project_id: str) -> Response:
    """Import a source into new modules of a project (Postman folders, OpenAPI tags);
    ?format= (else detected), ?dry_run=1 previews."""
    return _import_source(service.import_into_project, project_id)


@imports_routes.route("/modules/{module_id}/import/sync", methods=["POST"], content_types=SOURCE_TYPES)
@answers(200, "chalicelib.imports.answers:SyncResult")
def sync_module(module_id: str) -> dict:
    """Re-sync a module imported from an OpenAPI URL (?source_url=): new operations added,
    changed ones replaced unless edited here, removed ones reported."""
    request = imports_routes.current_request
    return service.sync_module(current_user(request), module_id, clock=edge().clock)
