"""Catalog: projects with members, modules, test cases, environments.

Services take the signed-in user (`{"id", "username", ...}`) and plain values, return
plain dicts, and raise core errors. Access: a project's `member_ids` (owner included)
decide who sees it and everything under it; anything else answers 404, exactly like an
id that does not exist. Writes check membership inside their transaction (a condition
on the project item), so a member removed a moment ago cannot slip a write in.

Counts (`module_count`, `testcase_count`) change by ADD in the same transaction as the
create or delete they count. Deleting a module or project marks it `deleting` (hidden at
once, its names free again) and queues an idempotent cleanup (catalog/cleanup.py).

DynamoDB calls per route (the auth middleware's GetItem comes on top) are noted on each
function; none Scans.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition

from chalicelib.catalog.models import (
    ACTIVE,
    DELETING,
    PENDING,
    Membership,
    Module,
    NameClaim,
    Project,
    StoredTestcase,
    module_claim,
    project_claim,
    testcase_claim,
)
from chalicelib.catalog.schemas import (
    MAX_NAME_CHARS,
    MemberBody,
    ModuleCreate,
    ModulePatch,
    ProjectCreate,
    ProjectPatch,
    TestcaseBody,
    _name,
)
from chalicelib.catalog.secrets import environments_view, stored_environments
from chalicelib.catalog.store import (
    Cancelled,
    Tx,
    checked_start_key,
    query_page,
    string_key,
)
from chalicelib.core.clock import Clock, isoformat, utcnow
from chalicelib.core.db import condition_failed, get_many, get_or_none
from chalicelib.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from chalicelib.core.ids import checked_id, fold, new_id, precise, sort_key
from chalicelib.core.pagination import page
from chalicelib.core.settings import get_settings
from chalicelib.notify.alerts import channels_view, stored_alerts

logger = logging.getLogger("hat.catalog")

OWNER = "owner"
MEMBER = "member"
MAX_MEMBERS = 50  # a rename rewrites every member's row in one transaction (100 items at most)
NAME_FILTER_READ_AHEAD = 200  # items a filtered list page may read to fill itself


# --- small helpers ---------------------------------------------------------------------------

def not_found(what: str) -> NotFound:
    return NotFound(f"{what} not found", code=f"{what}_not_found")


def name_prefix(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > MAX_NAME_CHARS:
        raise ValidationFailed({"name": f"at most {MAX_NAME_CHARS} characters"})
    return fold(value)


def _visible(project: Project | None, user_id: str) -> bool:
    return project is not None and project.status == ACTIVE and user_id in (project.member_ids or set())


def visible_to(project: Project | None, user: dict) -> bool:
    """`_visible`, and for a request made with an API key (`user["api_key"]`, keys/service.py)
    only the key's own project; a key whose creator has left that project is a 401."""
    key = user.get("api_key")
    if not _visible(project, user["id"]):
        if key is not None and project is not None and project.status == ACTIVE \
                and project.id == key["project_id"]:
            raise Unauthorized("this key's owner is no longer a member of its project",
                               code="key_owner_removed")
        return False
    return key is None or key["project_id"] == project.id


def _member_of(user: dict):
    """Condition on a project item: it is live and the user belongs to it (and, for an API
    key, it is the key's project)."""
    condition = (Project.status == ACTIVE) & Project.member_ids.contains(user["id"])
    key = user.get("api_key")
    return condition if key is None else condition & (Project.id == key["project_id"])


def _owned_by(user_id: str):
    return (Project.status == ACTIVE) & (Project.owner_id == user_id)


def _name_taken(what: str, name: str) -> Conflict:
    return Conflict(f"a {what} named {name!r} already exists", code="name_taken",
                    fields={"name": "already taken"})


def _changed_meanwhile(what: str) -> Conflict:
    return Conflict(f"the {what} changed while this request was made; try again", code="concurrent_change")


# --- views -------------------------------------------------------------------------------------

def project_view(project: Project, user_id: str) -> dict:
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description or "",
        "owner_id": project.owner_id,
        "role": OWNER if project.owner_id == user_id else MEMBER,
        "member_count": len(project.member_ids or ()),
        "module_count": int(project.module_count or 0),
        "testcase_count": int(project.testcase_count or 0),
        "environments": environments_view(project.environments),
        "notify": project.notify,
        "callback_url": project.callback_url,
        "alerts": channels_view(project.alerts),
        "created_at": isoformat(project.created_at),
        "updated_at": isoformat(project.updated_at),
    }


def member_view(row: Membership) -> dict:
    return {"user_id": row.user_id, "username": row.username, "role": row.role,
            "added_at": isoformat(row.added_at)}


def module_view(module: Module) -> dict:
    return {
        "id": module.id,
        "project_id": module.project_id,
        "name": module.name,
        "description": module.description or "",
        "testcase_count": int(module.testcase_count or 0),
        "created_at": isoformat(module.created_at),
        "updated_at": isoformat(module.updated_at),
    }


def testcase_summary(testcase: StoredTestcase) -> dict:
    return {
        "id": testcase.id,
        "module_id": testcase.module_id,
        "project_id": testcase.project_id,
        "name": testcase.name,
        "step_count": int(testcase.step_count or 0),
        "size_bytes": int(testcase.size_bytes or 0),
        "created_at": isoformat(testcase.created_at),
        "updated_at": isoformat(testcase.updated_at),
    }


def testcase_view(testcase: StoredTestcase) -> dict:
    return {**testcase_summary(testcase), "testcase": testcase.document}


# --- loading with access checks ----------------------------------------------------------------

def load_project(user: dict, project_id: str) -> Project:
    """The live project if the user is a member; else 404. One GetItem."""
    project = get_or_none(Project, checked_id(project_id, "project"), consistent_read=True)
    if not visible_to(project, user):
        raise not_found("project")
    return project


def _load_module(module_id: str) -> Module:
    """The live module, before any access check (callers check the project). One GetItem."""
    module = get_or_none(Module, checked_id(module_id, "module"), consistent_read=True)
    if module is None or module.status != ACTIVE:
        raise not_found("module")
    return module


def load_module(user: dict, module_id: str) -> tuple[Module, Project]:
    """The live module of a project the user belongs to; else 404. Two GetItems."""
    module = _load_module(module_id)
    try:
        project = load_project(user, module.project_id)
    except NotFound:
        raise not_found("module") from None
    return module, project


def _load_testcase(testcase_id: str) -> StoredTestcase:
    testcase = get_or_none(StoredTestcase, checked_id(testcase_id, "testcase"), consistent_read=True)
    if testcase is None:
        raise not_found("testcase")
    return testcase


def load_testcase(user: dict, testcase_id: str) -> StoredTestcase:
    """A test case whose module is live in a project of the user's; else 404.
    A GetItem, then one BatchGetItem for its module and project."""
    testcase = _load_testcase(testcase_id)
    module, project = get_many([(Module, testcase.module_id), (Project, testcase.project_id)])
    if module is None or module.status != ACTIVE or not visible_to(project, user):
        raise not_found("testcase")
    return testcase


# --- projects -------------------------------------------------------------------------------------

def create_project(user: dict, body: ProjectCreate, *, clock: Clock = utcnow) -> dict:
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
            raise _name_taken("project", body.name) from None
        raise
    secret = webhook_secret(project_id, project.webhook_salt)
    _ask_recipients(project, user_id)
    return {**project_view(project, user_id), "webhook_secret": secret}


def get_project(user: dict, project_id: str) -> dict:
    """One GetItem."""
    return project_view(load_project(user, project_id), user["id"])


def list_projects(user: dict, limit: int, start: dict | None, name: str | None = None) -> dict:
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
             if _visible(projects.get(row.project_id), user_id)]
    return page(items, next_key)


def update_project(user: dict, project_id: str, body: ProjectPatch, *, clock: Clock = utcnow) -> dict:
    """GetItem, then an UpdateItem (or, for a rename, one TransactWriteItems that moves the
    name claim and rewrites the members' rows)."""
    project = load_project(user, project_id)
    user_id, now = user["id"], clock()
    actions = [Project.updated_at.set(now)]
    # secrets sealed under the data key read here: the write holds only if it is still the one
    # (two first secrets at once would each make a key, and one's boxes would not open)
    condition = _member_of(user)
    if body.description is not None:
        actions.append(Project.description.set(body.description))
        project.description = body.description
    if body.environments is not None:
        condition &= Project.secrets_key.does_not_exist() if project.secrets_key is None \
            else Project.secrets_key == project.secrets_key
        environments, secrets_key = stored_environments(project.id, body.environments, project.environments,
                                                        project.secrets_key)
        actions.append(Project.environments.set(environments))
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
            if body.environments is not None and _visible(
                    get_or_none(Project, project.id, consistent_read=True), user_id):
                raise _changed_meanwhile("project") from None
            raise not_found("project") from None
        view = project_view(project, user_id)
    else:
        view = _rename_project(user, project, new_name, actions, now, condition)
    if "notify" in sent or "alerts" in sent:
        _ask_recipients(project, user_id)
    return view


def _ask_recipients(project: Project, user_id: str) -> None:
    """Outside addresses among the project's default recipients and email/SMS alert channels are
    asked to confirm (a job)."""
    from chalicelib.notify.recipients import request_confirmations

    request_confirmations(project.id, project.notify, user_id, project.alerts)


def _rename_project(user: dict, project: Project, new_name: str, actions: list, now: datetime,
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
            if not _visible(cancelled.old("project", Project), user_id):
                raise not_found("project") from None
            raise _changed_meanwhile("project") from None
        if cancelled.failed("new_name"):
            raise _name_taken("project", new_name) from None
        raise _changed_meanwhile("project") from None
    project.name, project.name_lc, project.updated_at = new_name, new_lc, now
    return project_view(project, user_id)


def delete_project(user: dict, project_id: str, *, clock: Clock = utcnow) -> None:
    """GetItem, then one TransactWriteItems (mark deleting, free the name); the cascade is a
    queued job. A retry by the owner of a half-done delete queues the job again."""
    user_id = user["id"]
    project = get_or_none(Project, checked_id(project_id, "project"), consistent_read=True)
    if project is None or user_id not in (project.member_ids or set()):
        raise not_found("project")
    if project.status == DELETING:
        if project.owner_id != user_id:
            raise not_found("project")
        _enqueue_cleanup("project", project.id)
        return
    if project.owner_id != user_id:
        raise Forbidden("only the owner can delete a project", code="owner_only")
    now = clock()
    tx = Tx()
    tx.update("project", project,
              [Project.status.set(DELETING), Project.cleanup.set(PENDING),
               Project.deleting_at.set(precise(now)), Project.updated_at.set(now)],
              _owned_by(user_id) & (Project.name_lc == project.name_lc))
    tx.delete("name", NameClaim(project_claim(user_id, project.name_lc)))
    try:
        tx.commit(retries=1)
    except Cancelled:
        raise _changed_meanwhile("project") from None
    _enqueue_cleanup("project", project.id)


def _enqueue_cleanup(kind: str, item_id: str) -> None:
    """Queue the cascade. If SQS fails now, the item stays marked and the reaper queues it later."""
    from chalicelib.catalog.cleanup import enqueue_cleanup

    try:
        enqueue_cleanup(kind, item_id)
    except Exception:  # noqa: BLE001 - the delete itself is done; the reaper finishes the rest
        logger.exception("could not queue the cleanup of %s %s; the reaper will", kind, item_id)


# --- members --------------------------------------------------------------------------------------

def list_members(user: dict, project_id: str) -> dict:
    """GetItem, then one BatchGetItem of the members' rows; owner first."""
    project = load_project(user, project_id)
    rows = list(Membership.batch_get([(member_id, project.sort_key) for member_id in project.member_ids],
                                     consistent_read=True))
    rows.sort(key=lambda row: (row.role != OWNER, row.added_at, row.username))
    return {"items": [member_view(row) for row in rows], "next_cursor": None}


def _project_and_account(user: dict, project_id: str, username: str) -> tuple[Project, str]:
    """One BatchGetItem: the project (owner only) and the account key of `username`."""
    from chalicelib.accounts.models import AccountKey

    project, account = get_many([(Project, checked_id(project_id, "project")),
                                 (AccountKey, f"username#{username.lower()}")])
    if not _visible(project, user["id"]):
        raise not_found("project")
    if project.owner_id != user["id"]:
        raise Forbidden("only the owner can change the members of a project", code="owner_only")
    if account is None:
        raise NotFound(f"no user named {username!r}", code="user_not_found",
                       fields={"username": "no such user"})
    return project, account.user_id


def add_member(user: dict, project_id: str, body: MemberBody, *, clock: Clock = utcnow) -> dict:
    """BatchGetItem (project, username), GetItem (the user), one TransactWriteItems."""
    from chalicelib.accounts.models import User

    project, member_id = _project_and_account(user, project_id, body.username)
    if member_id in project.member_ids:
        raise Conflict(f"{body.username} is already a member", code="already_member",
                       fields={"username": "already a member"})
    if len(project.member_ids) >= MAX_MEMBERS:
        raise Conflict(f"a project has at most {MAX_MEMBERS} members", code="too_many_members")
    member = get_or_none(User, member_id)
    if member is None:
        raise NotFound(f"no user named {body.username!r}", code="user_not_found",
                       fields={"username": "no such user"})
    row = Membership(member_id, project.sort_key, project_id=project.id, name_lc=project.name_lc,
                     username=member.username, role=MEMBER, added_at=clock())
    tx = Tx()
    tx.update("project", project, [Project.member_ids.add({member_id}), Project.members_version.add(1)],
              _owned_by(user["id"]) & (Project.members_version == project.members_version), return_old=True)
    tx.put("membership", row)
    try:
        tx.commit()
    except Cancelled as cancelled:
        if not _visible(cancelled.old("project", Project), user["id"]):
            raise not_found("project") from None
        raise _changed_meanwhile("project") from None
    return member_view(row)


def remove_member(user: dict, project_id: str, body: MemberBody) -> None:
    """BatchGetItem (project, username), one TransactWriteItems."""
    project, member_id = _project_and_account(user, project_id, body.username)
    if member_id not in project.member_ids:
        raise NotFound(f"{body.username} is not a member", code="not_a_member",
                       fields={"username": "not a member"})
    if member_id == project.owner_id:
        raise Conflict("the owner cannot be removed from their project", code="owner_cannot_leave",
                       fields={"username": "the owner"})
    tx = Tx()
    tx.update("project", project, [Project.member_ids.delete({member_id}), Project.members_version.add(1)],
              _owned_by(user["id"]) & (Project.members_version == project.members_version), return_old=True)
    tx.delete("membership", Membership(member_id, project.sort_key))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if not _visible(cancelled.old("project", Project), user["id"]):
            raise not_found("project") from None
        raise _changed_meanwhile("project") from None


# --- modules -----------------------------------------------------------------------------------

def create_module(user: dict, project_id: str, body: ModuleCreate, *, clock: Clock = utcnow) -> dict:
    """One TransactWriteItems: module, name claim, project.module_count + 1 (if a member)."""
    project_id = checked_id(project_id, "project")
    now, module_id = clock(), new_id()
    module = Module(module_id, project_id=project_id, name=body.name, name_lc=fold(body.name),
                    description=body.description, testcase_count=0, created_at=now, updated_at=now,
                    sort_key=sort_key(now, module_id), status=ACTIVE)
    tx = Tx()
    tx.put("module", module, Module.id.does_not_exist())
    tx.put("name", NameClaim(module_claim(project_id, module.name_lc), target_id=module_id),
           NameClaim.key.does_not_exist())
    tx.update("project", Project(project_id), [Project.module_count.add(1)], _member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project"):
            raise not_found("project") from None
        if cancelled.failed("name"):
            raise _name_taken("module", body.name) from None
        raise
    return module_view(module)


def list_modules(user: dict, project_id: str, limit: int, start: dict | None,
                 name: str | None = None) -> dict:
    """GetItem (the project), one Query on modules' by-project index, newest first."""
    project = load_project(user, project_id)
    start = checked_start_key(start, names=("id", "project_id", "sort_key"),
                              partition={"project_id": project.id})
    prefix = name_prefix(name)
    condition = Module.status == ACTIVE
    if prefix:
        condition &= Module.name_lc.startswith(prefix)
    modules, next_key = query_page(
        lambda **kw: Module.by_project.query(project.id, filter_condition=condition, scan_index_forward=False,
                                             **kw),
        Module, limit=limit, start_key=start,
        key_of=lambda m: string_key(id=m.id, project_id=m.project_id, sort_key=m.sort_key),
        read_ahead=NAME_FILTER_READ_AHEAD if prefix else None)
    return page([module_view(m) for m in modules], next_key)


def get_module(user: dict, module_id: str) -> dict:
    """Two GetItems (module, project)."""
    module, _project = load_module(user, module_id)
    return module_view(module)


def update_module(user: dict, module_id: str, body: ModulePatch, *, clock: Clock = utcnow) -> dict:
    """GetItem, then one TransactWriteItems (the update, a check of the membership, a moved name claim)."""
    module = _load_module(module_id)
    now = clock()
    actions = [Module.updated_at.set(now)]
    if body.description is not None:
        actions.append(Module.description.set(body.description))
    new_name = body.name if body.name is not None and body.name != module.name else None
    renaming = new_name is not None and fold(new_name) != module.name_lc
    if new_name is not None:
        actions += [Module.name.set(new_name), Module.name_lc.set(fold(new_name))]
    tx = Tx()
    tx.update("module", module, actions, (Module.status == ACTIVE) & (Module.name_lc == module.name_lc),
              return_old=True)
    tx.check("project", Project, module.project_id, _member_of(user))
    if renaming:
        tx.delete("old_name", NameClaim(module_claim(module.project_id, module.name_lc)))
        tx.put("new_name", NameClaim(module_claim(module.project_id, fold(new_name)), target_id=module.id),
               NameClaim.key.does_not_exist())
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project"):
            raise not_found("module") from None
        if cancelled.failed("module"):
            old = cancelled.old("module", Module)
            if old is None or old.status != ACTIVE:
                raise not_found("module") from None
            raise _changed_meanwhile("module") from None
        if cancelled.failed("new_name"):
            raise _name_taken("module", new_name) from None
        raise
    if body.description is not None:
        module.description = body.description
    if new_name is not None:
        module.name, module.name_lc = new_name, fold(new_name)
    module.updated_at = now
    return module_view(module)


def delete_module(user: dict, module_id: str, *, clock: Clock = utcnow) -> None:
    """GetItem, then one TransactWriteItems: mark the module deleting, take it and its test
    cases off the project's counts, free its name. If a test case was added or removed
    between the read and the write, the write fails with the module as it is now and is
    tried once more with its count (a fourth call). The test cases go in a queued job."""
    module = get_or_none(Module, checked_id(module_id, "module"), consistent_read=True)
    if module is None:
        raise not_found("module")
    if module.status == DELETING:  # a retry: make sure the cleanup is queued
        load_module_project = get_or_none(Project, module.project_id, consistent_read=True)
        if not visible_to(load_module_project, user):
            raise not_found("module")
        _enqueue_cleanup("module", module.id)
        return
    for attempt in range(2):
        now, count = clock(), int(module.testcase_count or 0)
        tx = Tx()
        tx.update("module", module,
                  [Module.status.set(DELETING), Module.cleanup.set(PENDING),
                   Module.deleting_at.set(precise(now)), Module.updated_at.set(now)],
                  (Module.status == ACTIVE) & (Module.testcase_count == count)
                  & (Module.name_lc == module.name_lc),
                  return_old=True)
        tx.update("project", Project(module.project_id),
                  [Project.module_count.add(-1), Project.testcase_count.add(-count)], _member_of(user))
        tx.delete("name", NameClaim(module_claim(module.project_id, module.name_lc)))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if cancelled.failed("project"):
                raise not_found("module") from None
            old = cancelled.old("module", Module) if cancelled.failed("module") else module
            if old is None or old.status != ACTIVE:
                raise not_found("module") from None
            if attempt == 0:
                module = old
                continue
            raise ServiceUnavailable("the module is changing; retry", retry_after_seconds=1,
                                     code="busy") from None
        _enqueue_cleanup("module", module.id)
        return


# --- test cases ----------------------------------------------------------------------------------

def document_size(document: object) -> int:
    """Bytes of the document's JSON; ValueError for what JSON cannot hold (NaN and infinities
    from YAML's .nan / .inf, or a lone surrogate)."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str,
                          allow_nan=False).encode())


def checked_document(document: object, *, prefix: str = "",
                     functions_of: Callable[[], frozenset[str] | None] | None = None,
                     ) -> tuple[object, int, int]:
    """(document, size in bytes, step count) of a valid HttpRunner v3 testcase; 413 when too
    big, 400 naming each bad path (under `prefix`) otherwise. `functions_of()`: the names of the
    project's debugtalk.py (None: it has none), asked only of a testcase that needs them."""
    from chalicelib.runner.schema import TestcaseInvalid, needs_user_code, validate_testcase

    limit = get_settings().testcase_max_bytes
    try:
        size = document_size(document)
    except ValueError:  # UnicodeEncodeError included
        raise ValidationFailed({prefix or "body": "NaN, infinities and lone surrogates are not JSON"}) \
            from None
    if size > limit:
        raise PayloadTooLarge(f"the test case is {size} bytes; at most {limit}", code="testcase_too_large")
    try:
        functions = functions_of() if functions_of and needs_user_code(document) else None
        model = validate_testcase(document, functions)
    except TestcaseInvalid as invalid:
        fields = {(f"{prefix}.{path}" if path else prefix) if prefix else (path or "body"): message
                  for path, message in invalid.fields.items()}
        raise ValidationFailed(fields, message=str(invalid)) from None
    return document, size, len(model.teststeps)


def _project_functions(project_id: str) -> frozenset[str] | None:
    from chalicelib.sandbox.service import project_functions  # the sandbox imports catalog

    return project_functions(project_id)


def _testcase_name(name: str | None, document: dict, *, field: str) -> str:
    if name is not None:
        return name
    try:
        return _name(str(document["config"]["name"]))
    except ValueError as error:
        raise ValidationFailed({field: str(error)}) from None


def create_testcase(user: dict, module_id: str, body: TestcaseBody, *, clock: Clock = utcnow) -> dict:
    """GetItem (module), one TransactWriteItems: the test case, its name claim, and +1 on
    the module's and the project's counts (if the module is live and the user a member)."""
    module = _ModuleOnce(module_id)
    document, size, steps = checked_document(body.testcase, prefix="testcase",
                                             functions_of=module.functions)
    name = _testcase_name(body.name, document, field="testcase.config.name")
    return _store_testcase(user, module.get(), name, document, size, steps, clock)


class _ModuleOnce:
    """The module a test case goes into, read once whether its project's debugtalk.py
    function names were needed to check the test case first or not."""

    def __init__(self, module_id: str) -> None:
        self.module_id = module_id
        self._module: Module | None = None

    def get(self) -> Module:
        if self._module is None:
            self._module = _load_module(self.module_id)
        return self._module

    def functions(self) -> frozenset[str] | None:
        return _project_functions(self.get().project_id)


def import_testcase(user: dict, module_id: str, raw_body: bytes | None, content_type: str,
                    name: str | None = None, *, clock: Clock = utcnow) -> dict:
    """Like create_testcase, from an HttpRunner v3 file's text: JSON, or YAML (safe loading)."""
    from chalicelib.core.parsing import check_json_depth, check_yaml_depth
    from chalicelib.runner.schema import TestcaseInvalid, parse_testcase_text

    if not raw_body:
        raise ValidationFailed({"body": "send an HttpRunner v3 testcase as JSON or YAML"})
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "the text must be UTF-8"}) from None
    content_type = content_type or "application/json"
    # Depth before any loader runs: libyaml's composer recurses per level in C (a segfault).
    json_text = content_type.split(";", 1)[0].strip().lower().endswith("json")
    (check_json_depth if json_text else check_yaml_depth)(text)
    try:
        parsed = parse_testcase_text(text, content_type)
    except TestcaseInvalid as invalid:
        raise ValidationFailed({path or "body": message for path, message in invalid.fields.items()},
                               message=str(invalid)) from None
    module = _ModuleOnce(module_id)
    document, size, steps = checked_document(parsed, functions_of=module.functions)
    if name is not None:
        try:
            name = _name(name)
        except ValueError as error:
            raise ValidationFailed({"name": str(error)}) from None
    name = _testcase_name(name, document, field="config.name")
    return _store_testcase(user, module.get(), name, document, size, steps, clock)


def _store_testcase(user: dict, module: Module, name: str, document: object, size: int, steps: int,
                    clock: Clock) -> dict:
    now, testcase_id = clock(), new_id()
    testcase = StoredTestcase(
        testcase_id, module_id=module.id, project_id=module.project_id, name=name, name_lc=fold(name),
        document=document, step_count=steps, size_bytes=size, created_at=now, updated_at=now,
        sort_key=sort_key(now, testcase_id))
    tx = Tx()
    tx.put("testcase", testcase, StoredTestcase.id.does_not_exist())
    tx.put("name", NameClaim(testcase_claim(module.id, testcase.name_lc), target_id=testcase_id),
           NameClaim.key.does_not_exist())
    tx.update("module", Module(module.id), [Module.testcase_count.add(1)], Module.status == ACTIVE)
    tx.update("project", Project(module.project_id), [Project.testcase_count.add(1)], _member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project") or cancelled.failed("module"):
            raise not_found("module") from None
        if cancelled.failed("name"):
            raise _name_taken("testcase", name) from None
        raise
    return testcase_view(testcase)


def list_testcases(user: dict, module_id: str, limit: int, start: dict | None,
                   name: str | None = None) -> dict:
    """Two GetItems (module, project), one Query on the by-module index; summaries, newest first."""
    module, _project = load_module(user, module_id)
    start = checked_start_key(start, names=("id", "module_id", "sort_key"),
                              partition={"module_id": module.id})
    prefix = name_prefix(name)
    condition = StoredTestcase.name_lc.startswith(prefix) if prefix else None
    testcases, next_key = query_page(
        lambda **kw: StoredTestcase.by_module.query(module.id, filter_condition=condition,
                                                    scan_index_forward=False, **kw),
        StoredTestcase, limit=limit, start_key=start,
        key_of=lambda t: string_key(id=t.id, module_id=t.module_id, sort_key=t.sort_key),
        read_ahead=NAME_FILTER_READ_AHEAD if prefix else None)
    return page([testcase_summary(t) for t in testcases], next_key)


def get_testcase(user: dict, testcase_id: str) -> dict:
    """GetItem, BatchGetItem (module, project)."""
    return testcase_view(load_testcase(user, testcase_id))


def replace_testcase(user: dict, testcase_id: str, body: TestcaseBody, *, clock: Clock = utcnow) -> dict:
    """GetItem, one TransactWriteItems (the new document; checks that the module is live and
    the user a member; a moved name claim if renamed). The name stays unless given."""
    testcase = _load_testcase(testcase_id)
    document, size, steps = checked_document(
        body.testcase, prefix="testcase", functions_of=lambda: _project_functions(testcase.project_id))
    name = body.name if body.name is not None else testcase.name
    old_lc, new_lc, now = testcase.name_lc, fold(name), clock()
    tx = Tx()
    tx.update("testcase", testcase,
              [StoredTestcase.document.set(document), StoredTestcase.name.set(name),
               StoredTestcase.name_lc.set(new_lc), StoredTestcase.step_count.set(steps),
               StoredTestcase.size_bytes.set(size), StoredTestcase.updated_at.set(now)],
              StoredTestcase.id.exists() & (StoredTestcase.name_lc == old_lc), return_old=True)
    tx.check("module", Module, testcase.module_id, Module.status == ACTIVE)
    tx.check("project", Project, testcase.project_id, _member_of(user))
    if new_lc != old_lc:
        tx.delete("old_name", NameClaim(testcase_claim(testcase.module_id, old_lc)))
        tx.put("new_name", NameClaim(testcase_claim(testcase.module_id, new_lc), target_id=testcase.id),
               NameClaim.key.does_not_exist())
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project") or cancelled.failed("module"):
            raise not_found("testcase") from None
        if cancelled.failed("testcase"):
            if cancelled.old("testcase", StoredTestcase) is None:
                raise not_found("testcase") from None
            raise _changed_meanwhile("testcase") from None
        if cancelled.failed("new_name"):
            raise _name_taken("testcase", name) from None
        raise
    testcase.document, testcase.name, testcase.name_lc = document, name, new_lc
    testcase.step_count, testcase.size_bytes, testcase.updated_at = steps, size, now
    return testcase_view(testcase)


def delete_testcase(user: dict, testcase_id: str) -> None:
    """GetItem, one TransactWriteItems: the test case, its name claim, -1 on both counts."""
    testcase = _load_testcase(testcase_id)
    tx = Tx()
    tx.delete("testcase", testcase, StoredTestcase.id.exists() & (StoredTestcase.name_lc == testcase.name_lc))
    tx.delete("name", NameClaim(testcase_claim(testcase.module_id, testcase.name_lc)))
    tx.update("module", Module(testcase.module_id), [Module.testcase_count.add(-1)], Module.status == ACTIVE)
    tx.update("project", Project(testcase.project_id), [Project.testcase_count.add(-1)],
              _member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled:
        raise not_found("testcase") from None


# --- for other features (runs, tasks, dashboard): not request paths of their own ---------------

def project_ids_of(user_id: str) -> list[str]:
    """Every project the user belongs to (a Query per 1 MB of memberships)."""
    return [row.project_id for row in Membership.query(user_id, attributes_to_get=["project_id"])]


def testcase_documents(project_id: str, module_ids: list[str] | None = None) -> list[dict]:
    """For a run: the live test cases of a project (or of some of its modules), with documents."""
    modules = [m for m in Module.by_project.query(project_id) if m.status == ACTIVE
               and (module_ids is None or m.id in module_ids)]
    out = []
    for module in modules:
        ids = [t.id for t in StoredTestcase.by_module.query(module.id)]
        for start in range(0, len(ids), 100):
            out += [testcase_view(t) for t in StoredTestcase.batch_get(ids[start:start + 100])]
    return out


# --- many test cases at once (imports) -------------------------------------------------------------
#
# An import writes its test cases (and, into a project, the modules they go in) in as few
# TransactWriteItems as DynamoDB allows: each holds at most 100 items and 4 MB, so a batch
# is up to 49 test cases (the case + its name claim each, the module's and the project's
# counts), modules counting two items (the module + its claim) too. Every batch moves the
# counts by exactly what it writes. Names that are taken get the first free " (2)" ... " (9)"
# suffix (one BatchGetItem for the names, one more only if some clash). If a batch is
# refused (a name claimed meanwhile, the module deleted, a member removed), the batches
# already written are undone by their inverse transactions, so an import is all or nothing.

TRANSACTION_ITEMS = 100  # DynamoDB's limit
IMPORT_BYTES_PER_TRANSACTION = 3 * 1024 * 1024  # DynamoDB's 4 MB per transaction, with room for keys
NAME_SUFFIXES = range(2, 10)


def _free_names(wanted: list[str], claim_of, what: str) -> list[str]:
    """`wanted` (unique among themselves, case-insensitively) with taken ones suffixed."""
    claims = get_many([(NameClaim, claim_of(fold(name))) for name in wanted])
    clashes = [name for name, claim in zip(wanted, claims, strict=True) if claim is not None]
    if not clashes:
        return wanted
    planned = {fold(name) for name in wanted}
    candidates = {name: [_suffixed(name, n) for n in NAME_SUFFIXES] for name in clashes}
    flat = [c for name in clashes for c in candidates[name] if fold(c) not in planned]
    taken = {key for key, claim in zip(flat, get_many([(NameClaim, claim_of(fold(c))) for c in flat]),
                                       strict=True) if claim is not None}
    renamed = {}
    for name in clashes:
        free = next((c for c in candidates[name] if c not in taken and fold(c) not in planned), None)
        if free is None:
            raise Conflict(f"a {what} named {name!r} and its suffixed names up to (9) already exist",
                           code="name_taken", fields={"name": name})
        planned.add(fold(free))
        renamed[name] = free
    return [renamed.get(name, name) for name in wanted]


def _suffixed(name: str, number: int) -> str:
    suffix = f" ({number})"
    return name[:MAX_NAME_CHARS - len(suffix)] + suffix


class _Batch:
    """One TransactWriteItems of an import, and how to undo it."""

    def __init__(self) -> None:
        self.modules: list[Module] = []
        self.testcases: list[StoredTestcase] = []
        self.bytes = 0

    def items(self) -> int:
        return 2 * (len(self.modules) + len(self.testcases))

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        new = {m.id for m in self.modules}
        for testcase in self.testcases:
            if testcase.module_id not in new:
                counts[testcase.module_id] = counts.get(testcase.module_id, 0) + 1
        return counts

    def commit(self, user: dict, project_id: str) -> None:
        tx = Tx()
        for module in self.modules:
            tx.put(f"module:{module.id}", module, Module.id.does_not_exist())
            claim = NameClaim(module_claim(project_id, module.name_lc), target_id=module.id)
            tx.put(f"module_name:{module.id}", claim, NameClaim.key.does_not_exist())
        for testcase in self.testcases:
            tx.put(f"testcase:{testcase.id}", testcase, StoredTestcase.id.does_not_exist())
            tx.put(f"name:{testcase.id}", NameClaim(testcase_claim(testcase.module_id, testcase.name_lc),
                                                    target_id=testcase.id), NameClaim.key.does_not_exist())
        for module_id, count in self.counts().items():
            tx.update(f"count:{module_id}", Module(module_id), [Module.testcase_count.add(count)],
                      Module.status == ACTIVE)
        tx.update("project", Project(project_id), [Project.module_count.add(len(self.modules)),
                                                   Project.testcase_count.add(len(self.testcases))],
                  _member_of(user))
        tx.commit(retries=1)

    def undo(self, project_id: str) -> None:
        tx = Tx()
        for testcase in self.testcases:
            tx.delete(f"testcase:{testcase.id}", StoredTestcase(testcase.id))
            tx.delete(f"name:{testcase.id}", NameClaim(testcase_claim(testcase.module_id, testcase.name_lc)))
        for module in self.modules:
            tx.delete(f"module:{module.id}", Module(module.id))
            tx.delete(f"module_name:{module.id}", NameClaim(module_claim(project_id, module.name_lc)))
        for module_id, count in self.counts().items():
            tx.update(f"count:{module_id}", Module(module_id), [Module.testcase_count.add(-count)])
        tx.update("project", Project(project_id), [Project.module_count.add(-len(self.modules)),
                                                   Project.testcase_count.add(-len(self.testcases))])
        tx.commit(retries=1)


def _write_batches(user: dict, project_id: str, batches: list[_Batch], what: str) -> None:
    done: list[_Batch] = []
    for batch in batches:
        try:
            batch.commit(user, project_id)
        except Exception as error:  # whatever stopped it (a refusal, throttling, AWS), undo the rest
            for written in reversed(done):
                try:
                    written.undo(project_id)
                except Exception:  # noqa: BLE001 - logged; the answer still says the import failed
                    logger.exception("could not undo part of an import into %s", project_id)
            if not isinstance(error, Cancelled):
                raise
            if any(error.failed(label) for label in error.codes if label.startswith(("name", "module_name"))):
                raise Conflict(f"a name was taken while the {what} was written; nothing was imported",
                               code="concurrent_change") from None
            raise not_found(what) from None
        done.append(batch)


def _batched(modules: list[Module], testcases: list[tuple[StoredTestcase, int]]) -> list[_Batch]:
    """Modules first (each before its test cases), packed by item count and bytes."""
    batches = [_Batch()]
    for module in modules:
        if batches[-1].items() + 2 + 1 > TRANSACTION_ITEMS:  # + the project's counts
            batches.append(_Batch())
        batches[-1].modules.append(module)
    for testcase, size in testcases:
        batch = batches[-1]
        # its two items, the project's counts, and the module's count (at most one more)
        if batch.items() + 2 + 1 + len(batch.counts()) + 1 > TRANSACTION_ITEMS \
                or batch.bytes + size > IMPORT_BYTES_PER_TRANSACTION:
            batch = _Batch()
            batches.append(batch)
        batch.testcases.append(testcase)
        batch.bytes += size
    return [b for b in batches if b.items()]


def _new_testcase(module: Module, name: str, checked: tuple[object, int, int],
                  now: datetime) -> StoredTestcase:
    document, size, steps = checked
    testcase_id = new_id()
    return StoredTestcase(testcase_id, module_id=module.id, project_id=module.project_id, name=name,
                          name_lc=fold(name), document=document, step_count=steps, size_bytes=size,
                          created_at=now, updated_at=now, sort_key=sort_key(now, testcase_id))


def create_testcases(user: dict, module_id: str, items: list[tuple[str, object]], *,
                     clock: Clock = utcnow) -> list[dict]:
    """Many test cases into one module: `items` are (name, document), names unique among
    themselves. GetItem (module), BatchGetItem of the names (two if some clash), then one
    TransactWriteItems per 49 test cases (or 3 MB). Answers their summaries, in order."""
    checked = [checked_document(document, prefix=f"testcases[{i}]") for i, (_, document) in enumerate(items)]
    module = _load_module(module_id)
    names = _free_names([name for name, _ in items], lambda lc: testcase_claim(module.id, lc), "testcase")
    now = clock()
    testcases = [(_new_testcase(module, name, check, now), check[1]) for name, check in zip(names, checked,
                                                                                            strict=True)]
    _write_batches(user, module.project_id, _batched([], testcases), "module")
    return [testcase_summary(t) for t, _ in testcases]


def create_modules_with_testcases(user: dict, project_id: str,
                                  groups: list[tuple[str, list[tuple[str, object]]]], *,
                                  clock: Clock = utcnow) -> list[dict]:
    """New modules, each with its test cases: `groups` are (module name, [(name, document)]),
    module names unique among themselves, test case names unique within their module.
    GetItem (project), BatchGetItem of the module names (two if some clash), then one
    TransactWriteItems per 49 modules + test cases. Answers the modules, each with its
    test cases' summaries under "testcases"."""
    project = load_project(user, project_id)
    checked = [[checked_document(document, prefix=f"modules[{g}].testcases[{i}]")
                for i, (_, document) in enumerate(items)] for g, (_, items) in enumerate(groups)]
    names = _free_names([name for name, _ in groups], lambda lc: module_claim(project.id, lc), "module")
    now = clock()
    modules, testcases, views = [], [], []
    for name, (_, items), checks in zip(names, groups, checked, strict=True):
        module_id = new_id()
        module = Module(module_id, project_id=project.id, name=name, name_lc=fold(name),
                        description="imported", testcase_count=len(items), created_at=now, updated_at=now,
                        sort_key=sort_key(now, module_id), status=ACTIVE)
        own = [(_new_testcase(module, tc_name, check, now), check[1])
               for (tc_name, _), check in zip(items, checks, strict=True)]
        modules.append(module)
        testcases += own
        views.append({**module_view(module), "testcases": [testcase_summary(t) for t, _ in own]})
    batches = _batched(modules, testcases)
    _fix_new_module_counts(batches)
    _write_batches(user, project.id, batches, "project")
    return views


def _fix_new_module_counts(batches: list[_Batch]) -> None:
    """A new module is written with the count of its test cases in its own batch; later
    batches ADD theirs (so the count is exact after every batch)."""
    written_in: dict[str, _Batch] = {}
    for batch in batches:
        for module in batch.modules:
            written_in[module.id] = batch
    for module_id, batch in written_in.items():
        module = next(m for m in batch.modules if m.id == module_id)
        module.testcase_count = sum(1 for t in batch.testcases if t.module_id == module_id)


def testcases_in_module(user: dict, module_id: str, testcase_ids: list[str]) -> tuple[dict, dict[str, dict]]:
    """The module and those of `testcase_ids` still in it, with their documents (for an
    import's re-sync): two GetItems (module, project), one BatchGetItem per 100 ids."""
    module, _project = load_module(user, module_id)
    found = get_many([(StoredTestcase, testcase_id) for testcase_id in testcase_ids]) if testcase_ids else []
    return module_view(module), {t.id: testcase_view(t) for t in found
                                 if t is not None and t.module_id == module.id}
