"""Projects: create, list, read, change (a rename moves the name claim and rewrites every
member's row in one transaction), delete (marks it `deleting`; catalog/cleanup.py cascades).

A project's counts (`module_count`, `testcase_count`) change by ADD in the same transaction as
the create or delete they count. DynamoDB calls per route (the auth middleware's GetItem comes
on top) are noted on each function; none Scans.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.catalog.alert_channels import stored_alerts
from chalicelib.catalog.cleanup import queue_cleanup
from chalicelib.catalog.extensions import recipients_stored
from chalicelib.catalog.models import ACTIVE, DELETING, PENDING, Membership, NameClaim, Project, project_claim
from chalicelib.catalog.names import NAME_FILTER_READ_AHEAD, name_prefix, name_taken
from chalicelib.catalog.schemas import ProjectCreate, ProjectPatch
from chalicelib.catalog.secrets import same_data_key, stored_environments
from chalicelib.catalog.views import OWNER, project_view
from chalicelib.catalog.visibility import (
    changed_meanwhile,
    is_member,
    load_project,
    member_of,
    not_found,
    owned_by,
)
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import (
    Cancelled,
    Tx,
    checked_start_key,
    condition_failed,
    get_or_none,
    query_page,
    string_key,
)
from chalicelib.core.errors import Forbidden
from chalicelib.core.ids import checked_id, fold, new_id, precise, sort_key
from chalicelib.core.pagination import page

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition


def create_project(user: User, body: ProjectCreate, *, clock: Clock) -> dict:
    """One TransactWriteItems: the project, its name claim and the owner's membership.
    The answer carries the project's CI webhook secret, shown this once."""
    from chalicelib.core.signing import new_salt, webhook_secret

    now, project_id, user_id = clock(), new_id(), user["id"]
    key = sort_key(now, project_id)
    environments, secrets_key = stored_environments(project_id, body.environments, None, None)
    project = Project(
        project_id, name=body.name, name_lc=fold(body.name), description=body.description,
        owner_id=user_id, member_ids={user_id}, members_version=0, module_count=0, testcase_count=0,
        environments=environments, secrets_key=secrets_key,
        notify=body.notify.model_dump() if body.notify else None, callback_url=body.callback_url,
        alerts=stored_alerts(body.alerts, None),
        webhook_salt=new_salt(), created_at=now, updated_at=now, sort_key=key, status=ACTIVE,
    )
    tx = Tx()
    tx.put("project", project, Project.id.does_not_exist())
    tx.put("name", NameClaim(project_claim(user_id, project.name_lc), target_id=project_id),
           NameClaim.key.does_not_exist())
    tx.put("membership", Membership(user_id, key, project_id=project_id, name_lc=project.name_lc,
                                    username=user["username"], role=OWNER, added_at=now))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("name"):
            raise name_taken("project", body.name) from None
        raise
    secret = webhook_secret(project_id, project.webhook_salt)
    _tell_recipients(project, user_id)
    return {**project_view(project, user_id), "webhook_secret": secret}


def get_project(user: User, project_id: str) -> dict:
    """One GetItem."""
    return project_view(load_project(user, project_id), user["id"])


def list_projects(user: User, limit: int, start: dict | None, name: str | None = None) -> dict:
    """The user's projects, newest first: one Query on memberships, one BatchGetItem."""
    user_id = user["id"]
    start = checked_start_key(start, names=("user_id", "sort_key"), partition={"user_id": user_id})
    prefix = name_prefix(name)
    condition = Membership.name_lc.startswith(prefix) if prefix else None
    rows, next_key = query_page(
        lambda **kw: Membership.query(user_id, filter_condition=condition, scan_index_forward=False, **kw),
        Membership, limit=limit, start_key=start,
        key_of=lambda row: string_key(user_id=row.user_id, sort_key=row.sort_key),
        read_ahead=NAME_FILTER_READ_AHEAD if prefix else None)
    projects = {p.id: p for p in Project.batch_get([row.project_id for row in rows], consistent_read=True)} \
        if rows else {}
    items = [project_view(projects[row.project_id], user_id) for row in rows
             if is_member(projects.get(row.project_id), user_id)]
    return page(items, next_key)


def update_project(user: User, project_id: str, body: ProjectPatch, *, clock: Clock) -> dict:
    """GetItem, then an UpdateItem (or, for a rename, one TransactWriteItems that moves the
    name claim and rewrites the members' rows)."""
    project = load_project(user, project_id)
    user_id, now = user["id"], clock()
    actions = [Project.updated_at.set(now)]
    condition = member_of(user)
    if body.description is not None:
        actions.append(Project.description.set(body.description))
        project.description = body.description
    if body.environments is not None:
        condition &= same_data_key(project)
        environments, secrets_key = stored_environments(project.id, body.environments, project.environments,
                                                        project.secrets_key)
        actions += [Project.environments.set(environments), Project.environments_version.add(1)]
        if secrets_key != project.secrets_key:
            actions.append(Project.secrets_key.set(secrets_key))
        project.environments, project.secrets_key = environments, secrets_key
    sent = body.model_fields_set
    if "notify" in sent:
        project.notify = body.notify.model_dump() if body.notify else None
        actions.append(Project.notify.set(project.notify) if project.notify else Project.notify.remove())
    if "alerts" in sent:
        project.alerts = stored_alerts(body.alerts, project.alerts)
        actions.append(Project.alerts.set(project.alerts) if project.alerts else Project.alerts.remove())
    if "callback_url" in sent:
        project.callback_url = body.callback_url
        actions.append(Project.callback_url.set(body.callback_url) if body.callback_url
                       else Project.callback_url.remove())
    new_name = body.name if body.name is not None and body.name != project.name else None
    if new_name is None or fold(new_name) == project.name_lc:
        if new_name is not None:
            actions.append(Project.name.set(new_name))
        from pynamodb.exceptions import UpdateError

        try:
            project.update(actions=actions, condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            if body.environments is not None and is_member(
                    get_or_none(Project, project.id, consistent_read=True), user_id):
                raise changed_meanwhile("project") from None
            raise not_found("project") from None
        view = project_view(project, user_id)
    else:
        view = _rename_project(user, project, new_name, actions, now, condition)
    if "notify" in sent or "alerts" in sent:
        _tell_recipients(project, user_id)
    return view


def _tell_recipients(project: Project, user_id: str) -> None:
    """The project's default recipients or alert channels were stored: the features listening
    (notify asks outside addresses to confirm, a job) are told."""
    recipients_stored(project.id, project.notify, user_id, project.alerts)


def _rename_project(user: User, project: Project, new_name: str, actions: list, now: datetime,
                    condition: Condition) -> dict:
    user_id = user["id"]
    old_lc, new_lc = project.name_lc, fold(new_name)
    members = sorted(project.member_ids or ())
    tx = Tx()
    tx.update("project", project,
              [*actions, Project.name.set(new_name), Project.name_lc.set(new_lc),
               Project.members_version.add(1)],
              condition & (Project.name_lc == old_lc)
              & (Project.members_version == project.members_version), return_old=True)
    tx.delete("old_name", NameClaim(project_claim(project.owner_id, old_lc)))
    tx.put("new_name", NameClaim(project_claim(project.owner_id, new_lc), target_id=project.id),
           NameClaim.key.does_not_exist())
    for member_id in members:
        tx.update(f"member:{member_id}", Membership(member_id, project.sort_key),
                  [Membership.name_lc.set(new_lc)], Membership.user_id.exists())
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project"):
            if not is_member(cancelled.old("project", Project), user_id):
                raise not_found("project") from None
            raise changed_meanwhile("project") from None
        if cancelled.failed("new_name"):
            raise name_taken("project", new_name) from None
        raise changed_meanwhile("project") from None
    project.name, project.name_lc, project.updated_at = new_name, new_lc, now
    return project_view(project, user_id)


def delete_project(user: User, project_id: str, *, clock: Clock) -> None:
    """GetItem, then one TransactWriteItems (mark deleting, free the name); the cascade is a
    queued job. A retry by the owner of a half-done delete queues the job again."""
    user_id = user["id"]
    project = get_or_none(Project, checked_id(project_id, "project"), consistent_read=True)
    if project is None or user_id not in (project.member_ids or set()):
        raise not_found("project")
    if project.status == DELETING:
        if project.owner_id != user_id:
            raise not_found("project")
        queue_cleanup("project", project.id)
        return
    if project.owner_id != user_id:
        raise Forbidden("only the owner can delete a project", code="owner_only")
    now = clock()
    tx = Tx()
    tx.update("project", project,
              [Project.status.set(DELETING), Project.cleanup.set(PENDING),
               Project.deleting_at.set(precise(now)), Project.updated_at.set(now)],
              owned_by(user_id) & (Project.name_lc == project.name_lc))
    tx.delete("name", NameClaim(project_claim(user_id, project.name_lc)))
    try:
        tx.commit(retries=1)
    except Cancelled:
        raise changed_meanwhile("project") from None
    queue_cleanup("project", project.id)
