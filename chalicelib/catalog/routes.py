"""Catalog routes (API.md, Catalog): thin; the logic is in projects.py, members.py, modules.py and
testcases.py, each handed the edge's collaborators (core/edge.py)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.lazy import lazy_module
from chalicelib.core.openapi import answers
from chalicelib.core.pagination import page_params
from chalicelib.core.validation import parse_body, validate

# Loaded by the first request that needs them, not by every cold start.
projects = lazy_module("chalicelib.catalog.projects")
members = lazy_module("chalicelib.catalog.members")
modules = lazy_module("chalicelib.catalog.modules")
testcases = lazy_module("chalicelib.catalog.testcases")
schemas = lazy_module("chalicelib.catalog.schemas")

catalog_routes = Blueprint(__name__)
IMPORT_TYPES = ["application/json", "application/yaml", "application/x-yaml", "text/yaml"]


def _request():
    return catalog_routes.current_request


def _no_content() -> Response:
    return Response(body="", status_code=204)


@catalog_routes.route("/projects", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:ProjectPage")
def list_projects() -> dict:
    """The caller's projects, newest first; ?name= filters by name prefix."""
    request = _request()
    query = request.query_params or {}
    limit, start = page_params(query)
    return projects.list_projects(current_user(request), limit, start, query.get("name"))


@catalog_routes.route("/projects", methods=["POST"])
@answers(201, "chalicelib.catalog.answers:ProjectCreated")
def create_project() -> Response:
    """Create a project; the caller owns it."""
    request = _request()
    body = parse_body(request, schemas.ProjectCreate)
    return json_response(projects.create_project(current_user(request), body, clock=edge().clock), 201)


@catalog_routes.route("/projects/{project_id}", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:Project")
def get_project(project_id: str) -> dict:
    """One project of the caller's."""
    return projects.get_project(current_user(_request()), project_id)


@catalog_routes.route("/projects/{project_id}", methods=["PATCH"])
@answers(200, "chalicelib.catalog.answers:Project")
def update_project(project_id: str) -> dict:
    """Change a project's name, description or environments (members may)."""
    request = _request()
    body = parse_body(request, schemas.ProjectPatch)
    return projects.update_project(current_user(request), project_id, body, clock=edge().clock)


@catalog_routes.route("/projects/{project_id}", methods=["DELETE"])
@answers(204)
def delete_project(project_id: str) -> Response:
    """Delete a project and everything in it (the owner only)."""
    projects.delete_project(current_user(_request()), project_id, clock=edge().clock)
    return _no_content()


@catalog_routes.route("/projects/{project_id}/members", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:MemberPage")
def list_members(project_id: str) -> dict:
    """The project's members, owner first."""
    return members.list_members(current_user(_request()), project_id)


@catalog_routes.route("/projects/{project_id}/members", methods=["POST"])
@answers(201, "chalicelib.catalog.answers:Member")
def add_member(project_id: str) -> Response:
    """Add a member by username (the owner only)."""
    request = _request()
    body = parse_body(request, schemas.MemberBody)
    return json_response(members.add_member(current_user(request), project_id, body, clock=edge().clock), 201)


@catalog_routes.route("/projects/{project_id}/members", methods=["DELETE"])
@answers(204)
def remove_member(project_id: str) -> Response:
    """Remove a member by username, from the body or ?username= (the owner only)."""
    request = _request()
    query = request.query_params or {}
    if "username" in query:
        body = validate(schemas.MemberBody, query)
    else:
        body = parse_body(request, schemas.MemberBody)
    members.remove_member(current_user(request), project_id, body)
    return _no_content()


@catalog_routes.route("/projects/{project_id}/modules", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:ModulePage")
def list_modules(project_id: str) -> dict:
    """The project's modules, newest first; ?name= filters by name prefix."""
    request = _request()
    query = request.query_params or {}
    limit, start = page_params(query)
    return modules.list_modules(current_user(request), project_id, limit, start, query.get("name"))


@catalog_routes.route("/projects/{project_id}/modules", methods=["POST"])
@answers(201, "chalicelib.catalog.answers:Module")
def create_module(project_id: str) -> Response:
    """Add a module to a project."""
    request = _request()
    body = parse_body(request, schemas.ModuleCreate)
    created = modules.create_module(current_user(request), project_id, body, clock=edge().clock)
    return json_response(created, 201)


@catalog_routes.route("/modules/{module_id}", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:Module")
def get_module(module_id: str) -> dict:
    """One module."""
    return modules.get_module(current_user(_request()), module_id)


@catalog_routes.route("/modules/{module_id}", methods=["PATCH"])
@answers(200, "chalicelib.catalog.answers:Module")
def update_module(module_id: str) -> dict:
    """Rename a module or change its description."""
    request = _request()
    body = parse_body(request, schemas.ModulePatch)
    return modules.update_module(current_user(request), module_id, body, clock=edge().clock)


@catalog_routes.route("/modules/{module_id}", methods=["DELETE"])
@answers(204)
def delete_module(module_id: str) -> Response:
    """Delete a module and its test cases."""
    modules.delete_module(current_user(_request()), module_id, clock=edge().clock)
    return _no_content()


@catalog_routes.route("/modules/{module_id}/testcases", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:TestcasePage")
def list_testcases(module_id: str) -> dict:
    """The module's test cases (summaries), newest first; ?name= filters by name prefix."""
    request = _request()
    query = request.query_params or {}
    limit, start = page_params(query)
    return testcases.list_testcases(current_user(request), module_id, limit, start, query.get("name"))


@catalog_routes.route("/modules/{module_id}/testcases", methods=["POST"])
@answers(201, "chalicelib.catalog.answers:Testcase")
def create_testcase(module_id: str) -> Response:
    """Add a test case: {"name"?, "testcase": an HttpRunner v3 testcase}."""
    request = _request()
    body = parse_body(request, schemas.TestcaseBody)
    created = testcases.create_testcase(current_user(request), module_id, body, clock=edge().clock)
    return json_response(created, 201)


@catalog_routes.route("/modules/{module_id}/testcases/import", methods=["POST"], content_types=IMPORT_TYPES)
@answers(201, "chalicelib.catalog.answers:Testcase")
def import_testcase(module_id: str) -> Response:
    """Import an HttpRunner v3 testcase file, JSON or YAML; ?name= overrides config.name."""
    request = _request()
    name = (request.query_params or {}).get("name")
    created = testcases.import_testcase(current_user(request), module_id, request.raw_body,
                                      request.headers.get("content-type", ""), name,
                                        clock=edge().clock)
    return json_response(created, 201)


@catalog_routes.route("/testcases/{testcase_id}", methods=["GET"])
@answers(200, "chalicelib.catalog.answers:Testcase")
def get_testcase(testcase_id: str) -> dict:
    """One test case with its document."""
    return testcases.get_testcase(current_user(_request()), testcase_id)


@catalog_routes.route("/testcases/{testcase_id}", methods=["PUT"])
@answers(200, "chalicelib.catalog.answers:Testcase")
def replace_testcase(testcase_id: str) -> dict:
    """Replace a test case's document (and name, if given)."""
    request = _request()
    body = parse_body(request, schemas.TestcaseBody)
    return testcases.replace_testcase(current_user(request), testcase_id, body, clock=edge().clock)


@catalog_routes.route("/testcases/{testcase_id}", methods=["DELETE"])
@answers(204)
def delete_testcase(testcase_id: str) -> Response:
    """Delete a test case."""
    testcases.delete_testcase(current_user(_request()), testcase_id)
    return _no_content()
