"""Scheduled-task routes (API.md, Scheduled tasks): thin; the logic is in service.py."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.lazy import lazy_module
from chalicelib.core.openapi import answers
from chalicelib.core.pagination import page_params
from chalicelib.core.validation import parse_body
from chalicelib.schedules.gateway import default_gateway

# Loaded by the first request that needs them, not by every cold start.
service = lazy_module("chalicelib.schedules.service")
schemas = lazy_module("chalicelib.schedules.schemas")

schedules_routes = Blueprint(__name__)


def _request():
    return schedules_routes.current_request


@schedules_routes.route("/tasks", methods=["GET"])
@answers(200, "chalicelib.schedules.answers:TaskPage")
def list_tasks() -> dict:
    """Tasks of the caller's projects, newest change first; ?name= prefix, ?project_id=,
    ?include=history (each task with its last outcomes, as GET /tasks/{id}/history)."""
    request = _request()
    query = request.query_params or {}
    limit, _ = page_params({"limit": query.get("limit")})
    return service.list_tasks(current_user(request), limit, query.get("cursor"),
                              name=query.get("name"), project_id=query.get("project_id"),
                              include=query.get("include"))


@schedules_routes.route("/tasks", methods=["POST"])
@answers(201, "chalicelib.schedules.answers:Task")
def create_task() -> Response:
    """Create a task: its crontab becomes one or two EventBridge schedules."""
    request = _request()
    body = parse_body(request, schemas.TaskCreate)
    created = service.create_task(current_user(request), body, gateway=default_gateway(), clock=edge().clock)
    return json_response(created, 201)


@schedules_routes.route("/tasks/{task_id}", methods=["GET"])
@answers(200, "chalicelib.schedules.answers:TaskWithSchedule")
def get_task(task_id: str) -> dict:
    """One task, with its schedule as AWS holds it and its next three fire times."""
    return service.get_task(current_user(_request()), task_id, gateway=default_gateway(), clock=edge().clock)


@schedules_routes.route("/tasks/{task_id}", methods=["PATCH"])
@answers(200, "chalicelib.schedules.answers:Task")
def update_task(task_id: str) -> dict:
    """Change any field of a task; its schedules follow ({"enabled": false} pauses it)."""
    request = _request()
    body = parse_body(request, schemas.TaskPatch)
    return service.update_task(current_user(request), task_id, body, gateway=default_gateway(),
                               clock=edge().clock)


@schedules_routes.route("/tasks/{task_id}", methods=["DELETE"])
@answers(204)
def delete_task(task_id: str) -> Response:
    """Delete a task and its schedules."""
    service.delete_task(current_user(_request()), task_id, gateway=default_gateway())
    return Response(body="", status_code=204)


@schedules_routes.route("/tasks/{task_id}/history", methods=["GET"])
@answers(200, "chalicelib.runs.answers:History")
def task_history(task_id: str) -> dict:
    """A task's last 50 outcomes, newest first, with "failing since" and a flaky flag."""
    return service.task_history(current_user(_request()), task_id)


@schedules_routes.route("/tasks/{task_id}/runs", methods=["POST"])
@answers(202, "chalicelib.runs.answers:RunQueued")
def run_task(task_id: str) -> Response:
    """Run the task now."""
    return json_response(service.run_task_now(current_user(_request()), task_id, clock=edge().clock), 202)
