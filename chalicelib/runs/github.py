"""A GitHub commit status for runs GitHub's webhook started (issue 22, item 4).

The project's owner gives hat a GitHub token (`PUT /projects/{id}/github-token`, write-only:
no answer shows it). It lives in SSM Parameter Store as a SecureString
(`/hat/<stage>/projects/<id>/github-token`, encrypted by AWS), never in DynamoDB; the
project item only records when it was set. When a report whose `origin` is a GitHub delivery
finishes, a `github_status` job POSTs `{api}/repos/<repository>/statuses/<sha>` (state
success / failure / error, "hat" as the context, the report's console link when
HAT_PUBLIC_URL is set), sent by the runner so the outbound guard applies as to any run;
once per report (run_once), retried with the jobs' backoff.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.catalog.access import live_project
from chalicelib.catalog.models import ACTIVE, Project
from chalicelib.core.auth import User
from chalicelib.core.aws import get_client
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import condition_failed, get_or_none
from chalicelib.core.errors import Conflict, Forbidden
from chalicelib.core.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.runs import schemas

STATES = {"passed": "success", "failed": "failure", "error": "error"}
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_SHA = re.compile(r"[0-9a-f]{40}")


class StatusFailed(Exception):
    """GitHub did not take the status: retried via the queue."""


def parameter_name(project_id: str) -> str:
    return f"/hat/{get_settings().stage}/projects/{project_id}/github-token"


def _owned(user: User, project_id: str) -> Project:
    from chalicelib.catalog.access import load_project

    project = load_project(user, project_id)
    if project.owner_id != user["id"]:
        raise Forbidden("only the project's owner can set its GitHub token", code="owner_only")
    return project


def _mark(project: Project, user: User, value: datetime | None) -> None:
    from pynamodb.exceptions import UpdateError

    action = Project.github_token_at.set(value) if value else Project.github_token_at.remove()
    try:
        project.update(actions=[action],
                       condition=(Project.status == ACTIVE) & (Project.owner_id == user["id"]))
    except UpdateError as error:
        if condition_failed(error):
            raise Conflict("the project changed meanwhile; try again", code="changed_meanwhile") from None
        raise


def set_token(user: User, project_id: str, body: schemas.GithubToken, *, clock: Clock) -> dict:
    """PUT /projects/{id}/github-token (owner): GetItem (project), SSM PutParameter, UpdateItem."""
    project = _owned(user, project_id)
    get_client("ssm").put_parameter(Name=parameter_name(project.id), Value=body.token, Type="SecureString",
                                    Overwrite=True)
    now = clock()
    _mark(project, user, now)
    return {"project_id": project.id, "github_token": True, "set_at": isoformat(now)}


def delete_token(user: User, project_id: str) -> None:
    """DELETE /projects/{id}/github-token (owner): GetItem, SSM DeleteParameter, UpdateItem."""
    project = _owned(user, project_id)
    ssm = get_client("ssm")
    try:
        ssm.delete_parameter(Name=parameter_name(project.id))
    except ssm.exceptions.ParameterNotFound:
        pass
    _mark(project, user, None)


def wants_status(origin: dict | None) -> bool:
    origin = origin or {}
    return origin.get("provider") == "github" and bool(origin.get("sha")) and bool(origin.get("repository"))


def handle_status(report_id: str, *, runner: Any, clock: Clock) -> bool:
    """The runs queue's `github_status` job: True when this delivery posted it."""
    from chalicelib.core.jobs import run_once
    from chalicelib.runs.models import FINAL, Report

    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None or report.status not in FINAL or not wants_status(report.origin):
        return False
    ran, _ = run_once(f"github-status:{report_id}", lambda: _post(report, runner), clock=clock)
    return ran


def _post(report: Any, runner: Any) -> None:
    from chalicelib.core.settings import outbound_allow

    origin = report.origin
    project = live_project(report.project_id)
    repository, sha = origin["repository"], origin["sha"]
    if project is None or not project.github_token_at \
            or not _REPOSITORY.fullmatch(repository) or not _SHA.fullmatch(sha):
        return  # no token (or nothing GitHub could take): nothing to post, and done
    ssm = get_client("ssm")
    try:
        token = ssm.get_parameter(Name=parameter_name(project.id), WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return
    settings = get_settings()
    body = {"state": STATES.get(report.status, "error"), "context": "hat",
            "description": f"hat: {int(report.successes or 0)}/{int(report.tests_run or 0)} testcases passed"}
    if settings.public_url:
        body["target_url"] = f"{settings.public_url.rstrip('/')}/ui/reports/{report.id}"
    # `$` is the runner's variable sign: doubled, every value is sent as it is.
    headers = {"Authorization": f"Bearer {token}".replace("$", "$$"), "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"}
    url = f"{settings.github_api_url.rstrip('/')}/repos/{repository}/statuses/{sha}"
    document = {"config": {"name": "github status"}, "teststeps": [{
        "name": "commit status",
        "request": {"method": "POST", "url": url, "headers": headers,
                    "data": json.dumps(body).replace("$", "$$"), "allow_redirects": False, "timeout": 10},
        "validate": [{"eq": ["status_code", 201]}]}]}
    result = runner([document], concurrency=1, outbound_allow=outbound_allow(), deadline_seconds=20)
    if not result.get("successes"):
        steps = (result.get("testcases") or [{}])[0].get("steps") or [{}]
        # The token never goes into the message: only the status code or the transport's error.
        raise StatusFailed(f"GitHub status for {repository}@{sha[:7]} failed: "
                           f"{steps[0].get('status_code') or 'no answer'}")
