"""A project's members: listed (owner first), added and removed by username, by the owner only.

Each member has a row (Membership: the user's side, how their projects are listed) and is in
the project's `member_ids` (what every access check reads, catalog/visibility.py); both change in
one transaction, conditional on `members_version` so a rename rewriting the rows cannot miss one.
"""
from __future__ import annotations

from chalicelib.catalog.models import Membership, Project
from chalicelib.catalog.schemas import MemberBody
from chalicelib.catalog.views import MEMBER, OWNER, member_view
from chalicelib.catalog.visibility import changed_meanwhile, is_member, load_project, not_found, owned_by
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import Cancelled, Tx, get_many, get_or_none
from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.ids import checked_id

MAX_MEMBERS = 50  # a rename rewrites every member's row in one transaction (100 items at most)


def list_members(user: User, project_id: str) -> dict:
    """GetItem, then one BatchGetItem of the members' rows; owner first."""
    project = load_project(user, project_id)
    rows = list(Membership.batch_get([(member_id, project.sort_key) for member_id in project.member_ids],
                                     consistent_read=True))
    rows.sort(key=lambda row: (row.role != OWNER, row.added_at, row.username))
    return {"items": [member_view(row) for row in rows], "next_cursor": None}


def _project_and_account(user: User, project_id: str, username: str) -> tuple[Project, str]:
    """One BatchGetItem: the project (owner only) and the account key of `username`."""
    from chalicelib.accounts.models import AccountKey

    project, account = get_many([(Project, checked_id(project_id, "project")),
                                 (AccountKey, f"username#{username.lower()}")])
    if not is_member(project, user["id"]):
        raise not_found("project")
    if project.owner_id != user["id"]:
        raise Forbidden("only the owner can change the members of a project", code="owner_only")
    if account is None:
        raise NotFound(f"no user named {username!r}", code="user_not_found",
                       fields={"username": "no such user"})
    return project, account.user_id


def add_member(user: User, project_id: str, body: MemberBody, *, clock: Clock) -> dict:
    """BatchGetItem (project, username), GetItem (the user), one TransactWriteItems."""
    from chalicelib.accounts.models import User as Account

    project, member_id = _project_and_account(user, project_id, body.username)
    if member_id in project.member_ids:
        raise Conflict(f"{body.username} is already a member", code="already_member",
                       fields={"username": "already a member"})
    if len(project.member_ids) >= MAX_MEMBERS:
        raise Conflict(f"a project has at most {MAX_MEMBERS} members", code="too_many_members")
    member = get_or_none(Account, member_id)
    if member is None:
        raise NotFound(f"no user named {body.username!r}", code="user_not_found",
                       fields={"username": "no such user"})
    row = Membership(member_id, project.sort_key, project_id=project.id, name_lc=project.name_lc,
                     username=member.username, role=MEMBER, added_at=clock())
    tx = Tx()
    tx.update("project", project, [Project.member_ids.add({member_id}), Project.members_version.add(1)],
              owned_by(user["id"]) & (Project.members_version == project.members_version), return_old=True)
    tx.put("membership", row)
    try:
        tx.commit()
    except Cancelled as cancelled:
        if not is_member(cancelled.old("project", Project), user["id"]):
            raise not_found("project") from None
        raise changed_meanwhile("project") from None
    return member_view(row)


def remove_member(user: User, project_id: str, body: MemberBody) -> None:
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
              owned_by(user["id"]) & (Project.members_version == project.members_version), return_old=True)
    tx.delete("membership", Membership(member_id, project.sort_key))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if not is_member(cancelled.old("project", Project), user["id"]):
            raise not_found("project") from None
        raise changed_meanwhile("project") from None
