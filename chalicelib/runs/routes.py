"""Runs routes (API.md, Runs and reports; Webhooks; GET /dashboard): thin; logic in queueing.py,
reading.py and webhooks.py."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.auth import current_user
from chalicelib.core.edge import edge
from chalicelib.core.http import json_response
from chalicelib.core.lazy import lazy_module
from chalicelib.core.openapi import answers
from chalicelib.core.pagination import page_params
from chalicelib.core.validation import parse_body

schemas = lazy_module("chalicelib.runs.schemas")  # pydantic loads on first use, not at cold start

runs_routes = Blueprint(__name__)


def _request():
    return runs_routes.current_request


def _run_body():
    """The body is optional: no body is `{}`."""
    request = _request()
    return parse_body(request, schemas.RunBody) if request.raw_body else schemas.RunBody()


def _project_run_body():
    """As _run_body, with the project run's `module_ids` (a model of its own, for the OpenAPI)."""
    request = _request()
    return parse_body(request, schemas.ProjectRunBody) if request.raw_body else schemas.ProjectRunBody()


@runs_routes.route("/projects/{project_id}/runs", methods=["POST"])
@answers(202, "chalicelib.runs.answers:RunQueued")
def run_project(project_id: str) -> Response:
    """Run every test case of a project; 202 with the queued report's id."""
    from chalicelib.runs import queueing

    body = _project_run_body()
    queued = queueing.run_project(current_user(_request()), project_id, body, clock=edge().clock)
    return json_response(queued, 202)


@runs_routes.route("/modules/{module_id}/runs", methods=["POST"])
@answers(202, "chalicelib.runs.answers:RunQueued")
def run_module(module_id: str) -> Response:
    """Run a module's test cases; 202."""
    from chalicelib.runs import queueing

    body = _run_body()
    queued = queueing.run_module(current_user(_request()), module_id, body, clock=edge().clock)
    return json_response(queued, 202)


@runs_routes.route("/testcases/{testcase_id}/runs", methods=["POST"])
@answers(202, "chalicelib.runs.answers:RunQueued")
def run_testcase(testcase_id: str) -> Response:
    """Run one test case; 202."""
    from chalicelib.runs import queueing

    body = _run_body()
    return json_response(queueing.run_testcase(current_user(_request()), testcase_id, body,
                                                  clock=edge().clock), 202)


@runs_routes.route("/testcases/debug", methods=["POST"])
@answers(200, "chalicelib.runs.answers:DebugReport")
def debug_testcase() -> dict:
    """Run an unsaved test case inline (at most 25 s) and return its report; nothing is stored."""
    from chalicelib.runs import reading

    request = _request()
    body = parse_body(request, schemas.DebugBody)
    return reading.debug_run(current_user(request), body, runner=edge().runner)


@runs_routes.route("/projects/{project_id}/reports", methods=["GET"])
@answers(200, "chalicelib.runs.answers:ReportPage")
def list_reports(project_id: str) -> dict:
    """A project's reports, newest first."""
    from chalicelib.runs import reading

    request = _request()
    limit, start = page_params(request.query_params)
    return reading.list_reports(current_user(request), project_id, limit, start)


@runs_routes.route("/testcases/{testcase_id}/history", methods=["GET"])
@answers(200, "chalicelib.runs.answers:History")
def testcase_history(testcase_id: str) -> dict:
    """A test case's last 50 outcomes, newest first, with "failing since" and a flaky flag."""
    from chalicelib.runs.history import testcase_history as history_of

    return history_of(current_user(_request()), testcase_id)


@runs_routes.route("/reports/{report_id}", methods=["GET"])
@answers(200, "chalicelib.runs.answers:Report")
def get_report(report_id: str) -> dict:
    """A report with its detail (test cases, steps, validators)."""
    from chalicelib.runs import reading

    return reading.get_report(current_user(_request()), report_id)


@runs_routes.route("/reports/{report_id}/junit", methods=["GET"])
@answers(200, media_type="application/xml", description="JUnit XML")
def report_junit(report_id: str) -> Response:
    """A finished report as JUnit XML."""
    from chalicelib.runs import reading

    xml = reading.report_junit(current_user(_request()), report_id)
    return Response(body=xml, status_code=200, headers={"Content-Type": "application/xml"})


@runs_routes.route("/dashboard", methods=["GET"])
@answers(200, "chalicelib.runs.answers:Dashboard")
def dashboard() -> dict:
    """Totals over the caller's projects and 12 days of pass/fail, in the user's time zone
    (or ?tz=Area/City)."""
    from chalicelib.runs import reading

    request = _request()
    return reading.dashboard(current_user(request), (request.query_params or {}).get("tz"),
                             clock=edge().clock)


@runs_routes.route("/projects/{project_id}/webhook-secret", methods=["POST"])
@answers(201, "chalicelib.runs.answers:WebhookSecret")
def rotate_webhook_secret(project_id: str) -> Response:
    """Create or rotate the project's CI webhook secret (owner only); shown only in this answer."""
    from chalicelib.runs import webhooks

    rotated = webhooks.rotate_webhook_secret(current_user(_request()), project_id, clock=edge().clock)
    return json_response(rotated, 201)


@runs_routes.route("/hooks/projects/{project_id}/runs", methods=["POST"])
@answers(202, "chalicelib.runs.answers:RunQueued")
def webhook_run(project_id: str) -> Response:
    """CI trigger, signed with the project's webhook secret (X-Hat-Timestamp, X-Hat-Signature)."""
    from chalicelib.runs import webhooks

    request = _request()
    answer = webhooks.webhook_run(project_id, request.headers, request.raw_body or b"", clock=edge().clock)
    return json_response(answer, 202)


HOOK_TYPES = ["application/json", "application/x-www-form-urlencoded"]  # GitHub offers both


def _provider_hook(provider: str, project_id: str) -> Response:
    from chalicelib.runs import hooks

    request = _request()
    answer, status = hooks.receive(provider, project_id, request.headers, request.raw_body or b"",
                                   clock=edge().clock)
    return json_response(answer, status)


@runs_routes.route("/hooks/projects/{project_id}/github", methods=["POST"], content_types=HOOK_TYPES)
@answers(202, "chalicelib.runs.answers:HookRunQueued")
@answers(200, "chalicelib.runs.answers:HookIgnored")
def github_hook(project_id: str) -> Response:
    """GitHub's webhook (X-Hub-Signature-256 with the project's webhook secret): a matching event
    starts a run (202); ping, other events and deliveries seen before answer 200."""
    return _provider_hook("github", project_id)


@runs_routes.route("/hooks/projects/{project_id}/gitlab", methods=["POST"])
@answers(202, "chalicelib.runs.answers:HookRunQueued")
@answers(200, "chalicelib.runs.answers:HookIgnored")
def gitlab_hook(project_id: str) -> Response:
    """GitLab's webhook (X-Gitlab-Token: the project's webhook secret); the same answers."""
    return _provider_hook("gitlab", project_id)


@runs_routes.route("/projects/{project_id}/hook-rules", methods=["GET"])
@answers(200, "chalicelib.runs.answers:HookRules")
def get_hook_rules(project_id: str) -> dict:
    """Which GitHub/GitLab events start which run (the project's rules, or the defaults)."""
    from chalicelib.runs import hooks

    return hooks.get_rules(current_user(_request()), project_id)


@runs_routes.route("/projects/{project_id}/hook-rules", methods=["PUT"])
@answers(200, "chalicelib.runs.answers:HookRules")
def put_hook_rules(project_id: str) -> dict:
    """Replace the project's webhook rules; {"rules": null} goes back to the defaults."""
    from chalicelib.runs import hooks

    request = _request()
    return hooks.set_rules(current_user(request), project_id, parse_body(request, schemas.HookRules))


@runs_routes.route("/projects/{project_id}/github-token", methods=["PUT"])
@answers(200, "chalicelib.runs.answers:GithubTokenSet")
def put_github_token(project_id: str) -> dict:
    """Set the GitHub token (owner; write-only) runs started by GitHub's webhook post commit statuses with."""
    from chalicelib.runs import github

    request = _request()
    return github.set_token(current_user(request), project_id, parse_body(request, schemas.GithubToken),
                            clock=edge().clock)


@runs_routes.route("/projects/{project_id}/github-token", methods=["DELETE"])
@answers(204)
def delete_github_token(project_id: str) -> Response:
    """Remove the project's GitHub token (owner): no more commit statuses."""
    from chalicelib.runs import github

    github.delete_token(current_user(_request()), project_id)
    return Response(body="", status_code=204)
