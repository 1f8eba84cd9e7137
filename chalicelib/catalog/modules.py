"""A project's modules: create, list, read, change, delete (marks it `deleting`, takes it and its
test cases off the project's counts at once; catalog/cleanup.py deletes the test cases).

DynamoDB calls per route (the auth middleware's GetItem comes on top) are noted on each
function; none Scans.
"""
from __future__ import annotations

from chalicelib.catalog.cleanup import queue_cleanup
from chalicelib.catalog.models import ACTIVE, DELETING, PENDING, Module, NameClaim, Project, module_claim
from chalicelib.catalog.names import NAME_FILTER_READ_AHEAD, name_prefix, name_taken
from chalicelib.catalog.schemas import ModuleCreate, ModulePatch
from chalicelib.catalog.views import module_view
from chalicelib.catalog.visibility import (
    changed_meanwhile,
    live_module,
    load_module,
    load_project,
    member_of,
    not_found,
    visible_to,
)
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import Cancelled, Tx, checked_start_key, get_or_none, query_page, string_key
from chalicelib.core.errors import ServiceUnavailable
from chalicelib.core.ids import checked_id, fold, new_id, precise, sort_key
from chalicelib.core.pagination import page


def create_module(user: User, project_id: str, body: ModuleCreate, *, clock: Clock) -> dict:
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
    tx.update("project", Project(project_id), [Project.module_count.add(1)], member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project"):
            raise not_found("project") from None
        if cancelled.failed("name"):
            raise name_taken("module", body.name) from None
        raise
    return module_view(module)


def list_modules(user: User, project_id: str, limit: int, start: dict | None,
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


def get_module(user: User, module_id: str) -> dict:
    """Two GetItems (module, project)."""
    module, _project = load_module(user, module_id)
    return module_view(module)


def update_module(user: User, module_id: str, body: ModulePatch, *, clock: Clock) -> dict:
    """GetItem, then one TransactWriteItems (the update, a check of the membership, a moved name claim)."""
    module = live_module(module_id)
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
    tx.check("project", Project, module.project_id, member_of(user))
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
            raise changed_meanwhile("module") from None
        if cancelled.failed("new_name"):
            raise name_taken("module", new_name) from None
        raise
    if body.description is not None:
        module.description = body.description
    if new_name is not None:
        module.name, module.name_lc = new_name, fold(new_name)
    module.updated_at = now
    return module_view(module)


def delete_module(user: User, module_id: str, *, clock: Clock) -> None:
    """GetItem, then one TransactWriteItems: mark the module deleting, take it and its test
    cases off the project's counts, free its name. If a test case was added or removed
    between the read and the write, the write fails with the module as it is now and is
    tried once more with its count (a fourth call). The test cases go in a queued job."""
    module = get_or_none(Module, checked_id(module_id, "module"), consistent_read=True)
    if module is None:
        raise not_found("module")
    if module.status == DELETING:  # a retry: make sure the cleanup is queued
        project = get_or_none(Project, module.project_id, consistent_read=True)
        if not visible_to(project, user):
            raise not_found("module")
        queue_cleanup("module", module.id)
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
                  [Project.module_count.add(-1), Project.testcase_count.add(-count)], member_of(user))
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
        queue_cleanup("module", module.id)
        return
