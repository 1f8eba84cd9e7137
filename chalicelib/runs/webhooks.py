"""The CI webhook: rotating a project's signing secret (the previous one verifies for a grace
period), the secrets a signature may use now, and signed runs, claimed once per signature
(`start_claimed_run`, also GitHub/GitLab deliveries' in hooks.py)."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chalicelib.catalog.access import load_project
from chalicelib.catalog.models import ACTIVE, Project
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import condition_failed, get_or_none
from chalicelib.core.errors import Conflict, Unauthorized
from chalicelib.core.ids import is_id
from chalicelib.core.settings import get_settings
from chalicelib.runs.execution import choose_environment
from chalicelib.runs.models import (
    QUEUED,
    Report,
)
from chalicelib.runs.queueing import (
    ask_recipients,
    enqueue_run,
    new_report,
    notify_of,
    retries_of,
    with_project_defaults,
)


def rotate_webhook_secret(user: User, project_id: str, *, clock: Clock) -> dict:
    """Owner only: replace the project's webhook secret (made with the project); shown this once.
    GetItem (project), UpdateItem. The previous secret verifies for a grace period."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.core.errors import Forbidden
    from chalicelib.core.signing import new_salt, webhook_secret

    project = load_project(user, project_id)
    if project.owner_id != user["id"]:
        raise Forbidden("only the project's owner can rotate its webhook secret", code="owner_only")
    now, salt = clock(), new_salt()
    try:
        project.update(actions=[
            Project.webhook_previous_salt.set(project.webhook_salt) if project.webhook_salt
            else Project.webhook_previous_salt.remove(),
            Project.webhook_salt.set(salt), Project.webhook_rotated_at.set(now)],
            condition=(Project.owner_id == user["id"]) & (Project.status == ACTIVE)
            & _same_salt(project.webhook_salt))
    except UpdateError as error:
        if condition_failed(error):
            # Rotated (or deleted) meanwhile: a retry rotates again (or answers 404).
            raise Conflict("the project changed meanwhile; try again", code="changed_meanwhile") from None
        raise
    return {"project_id": project.id, "secret": webhook_secret(project.id, salt),
            "rotated_at": isoformat(now), "previous_valid_until": isoformat(now + timedelta(
                seconds=get_settings().webhook_previous_secret_seconds))}


def _same_salt(salt: str | None) -> Any:
    """Two rotations racing: the second must not make the first one's secret the "previous"."""
    return Project.webhook_salt == salt if salt else Project.webhook_salt.does_not_exist()


def current_webhook_secrets(project: Project | None, *, clock: Clock) -> list[str]:
    """The secrets a signature may use now (newest first); [] for no project or no secret."""
    from chalicelib.core.signing import webhook_secret

    if project is None or project.status != ACTIVE or not project.webhook_salt:
        return []
    found = [webhook_secret(project.id, project.webhook_salt)]
    grace = timedelta(seconds=get_settings().webhook_previous_secret_seconds)
    if project.webhook_previous_salt and project.webhook_rotated_at \
            and clock() - project.webhook_rotated_at < grace:
        found.append(webhook_secret(project.id, project.webhook_previous_salt))
    return found


def start_claimed_run(project: Project, *, claim_key: str | None, claim_ttl: timedelta,
                      environment: str | None, clock: Clock, **fields: Any) -> dict | None:
    """For webhooks: queue a run of `project` (its defaults applied) whose report commits with a
    claim on `claim_key` (one TransactWriteItems: a conditional put of the claim, kept for
    `claim_ttl`, and the report). None when the claim exists: that request was handled before.
    Without a claim key, the report alone (one PutItem)."""
    from chalicelib.core.db import Cancelled, Tx
    from chalicelib.core.models import IdempotencyRecord

    env_name, _env = choose_environment(project, environment)
    defaults = dict(trigger="webhook", name=project.name, module_ids=None, testcase_ids=None, task_id=None,
                    notify=None, callback_url=None, started_by=None, retries_policy=None)
    report = new_report(project, environment=env_name, clock=clock,
                        **with_project_defaults(project, {**defaults, **fields}))
    if claim_key is None:
        report.save(condition=Report.id.does_not_exist())
    else:
        claim = IdempotencyRecord(claim_key, status="COMPLETED", in_progress_until=0,
                                  expires_at=clock() + claim_ttl)
        try:
            (Tx().put("claim", claim, IdempotencyRecord.key.does_not_exist())
                 .put("report", report, Report.id.does_not_exist())
                 .commit())
        except Cancelled as cancelled:
            if cancelled.failed("claim"):  # the same delivery started its run already
                return None
            raise
    enqueue_run(report.id)
    ask_recipients(project, fields.get("notify"), None)  # signed, not a member: the owner stands for it
    return {"report_id": report.id, "status": QUEUED}


def webhook_run(project_id: str, headers: Mapping[str, str], raw_body: bytes, *,
                clock: Clock) -> dict:
    """POST /hooks/projects/{id}/runs: GetItem (project, which holds the secret's salt), one
    TransactWriteItems (the replay claim on the signature and the report). A project that is
    gone or has no secret answers 401 like a bad signature: nothing is revealed unsigned."""
    from chalicelib.core.parsing import load_json_bounded
    from chalicelib.core.signing import verify
    from chalicelib.core.validation import validate
    from chalicelib.runs.schemas import WebhookBody

    if not is_id(project_id):
        raise Unauthorized("signature does not match", code="bad_signature")
    tolerance = get_settings().webhook_tolerance_seconds
    project = get_or_none(Project, project_id, consistent_read=True)
    candidates = current_webhook_secrets(project, clock=clock)
    signature = verify(candidates or [secrets.token_hex(16)], headers, raw_body, clock=clock,
                       tolerance_seconds=tolerance)
    data = load_json_bounded(raw_body) if raw_body else {}
    body = validate(WebhookBody, data)
    answer = start_claimed_run(project, claim_key=f"hook:{project_id}:{signature}",
                               claim_ttl=timedelta(seconds=2 * tolerance + 60), environment=body.environment,
                               module_ids=body.module_ids, notify=notify_of(body),
                               callback_url=body.callback_url, retries_policy=retries_of(body), clock=clock)
    if answer is None:
        raise Unauthorized("this signed request was already used (replay)", code="replayed")
    return answer
