"""Who sees a project and everything in it, and the loaders that apply it.

A project's `member_ids` (owner included) decide who sees it and everything under it; anything
else answers 404, exactly like an id that does not exist. An API key (`user["api_key"]`,
keys/service.py) sees its own project only. Writes check membership inside their transaction
(`member_of`, a condition on the project item), so a member removed a moment ago cannot slip a
write in. Other features reach these through catalog/access.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.catalog.models import ACTIVE, Module, Project, StoredTestcase
from chalicelib.core.auth import User
from chalicelib.core.db import get_many, get_or_none
from chalicelib.core.errors import Conflict, NotFound, Unauthorized
from chalicelib.core.ids import checked_id

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition


def not_found(what: str) -> NotFound:
    """What a missing item and one the caller may not see both answer."""
    return NotFound(f"{what} not found", code=f"{what}_not_found")


def changed_meanwhile(what: str) -> Conflict:
    """A conditional write lost to a concurrent change of the item."""
    return Conflict(f"the {what} changed while this request was made; try again", code="concurrent_change")


def is_member(project: Project | None, user_id: str) -> bool:
    """The project is live and the user one of its members (owner included)."""
    return project is not None and project.status == ACTIVE and user_id in (project.member_ids or set())


def visible_to(project: Project | None, user: User) -> bool:
    """`is_member`, and for a request made with an API key (`user["api_key"]`, keys/service.py)
    only the key's own project; a key whose creator has left that project is a 401."""
    key = user.get("api_key")
    if not is_member(project, user["id"]):
        if key is not None and project is not None and project.status == ACTIVE \
                and project.id == key["project_id"]:
            raise Unauthorized("this key's owner is no longer a member of its project",
                               code="key_owner_removed")
        return False
    return key is None or key["project_id"] == project.id


def member_of(user: User) -> Condition:
    """Condition on a project item: it is live and the user belongs to it (and, for an API
    key, it is the key's project)."""
    condition = (Project.status == ACTIVE) & Project.member_ids.contains(user["id"])
    key = user.get("api_key")
    return condition if key is None else condition & (Project.id == key["project_id"])


def owned_by(user_id: str) -> Condition:
    """Condition on a project item: it is live and the user owns it."""
    return (Project.status == ACTIVE) & (Project.owner_id == user_id)


def load_project(user: User, project_id: str) -> Project:
    """The live project if the user is a member; else 404. One GetItem."""
    project = get_or_none(Project, checked_id(project_id, "project"), consistent_read=True)
    if not visible_to(project, user):
        raise not_found("project")
    return project


def live_module(module_id: str) -> Module:
    """The live module, before any access check (callers check the project). One GetItem."""
    module = get_or_none(Module, checked_id(module_id, "module"), consistent_read=True)
    if module is None or module.status != ACTIVE:
        raise not_found("module")
    return module


def load_module(user: User, module_id: str) -> tuple[Module, Project]:
    """The live module of a project the user belongs to; else 404. Two GetItems."""
    module = live_module(module_id)
    try:
        project = load_project(user, module.project_id)
    except NotFound:
        raise not_found("module") from None
    return module, project


def stored_testcase(testcase_id: str) -> StoredTestcase:
    """The test case, before any access check (callers check module and project). One GetItem."""
    testcase = get_or_none(StoredTestcase, checked_id(testcase_id, "testcase"), consistent_read=True)
    if testcase is None:
        raise not_found("testcase")
    return testcase


def load_testcase(user: User, testcase_id: str) -> StoredTestcase:
    """A test case whose module is live in a project of the user's; else 404.
    A GetItem, then one BatchGetItem for its module and project."""
    return load_testcase_with_project(user, testcase_id)[0]


def load_testcase_with_project(user: User, testcase_id: str) -> tuple[StoredTestcase, Project]:
    """As load_testcase, with the project it read on the way (a run needs its environments)."""
    testcase = stored_testcase(testcase_id)
    module, project = get_many([(Module, testcase.module_id), (Project, testcase.project_id)])
    if module is None or module.status != ACTIVE or not visible_to(project, user):
        raise not_found("testcase")
    return testcase, project
