"""Cascade deletes, done by a queued job that any number of crashes and retries finish.

A delete request only marks the project or module `deleting` (the API hides it at once
and its name is free again) and queues `{"kind": "project"|"module", "id"}` on the
catalog queue. The job deletes children before parents, so whatever point a crash
stops it at, the parent is still there, still marked, and the next delivery (or the
reaper, for a job that was never queued) picks the work up again:

  test cases (+ their name claims) -> module (+ its claim) -> what other features registered
  (catalog/extensions.py: the project's files, chalicelib/files) -> members' rows -> project

Test cases are deleted in transactions that also subtract them from their module's
count, each delete conditional on the item still existing, so a repeated delete never
counts twice and the module's count says exactly how many are left. A parent goes only
when its count is 0: if an index has not caught up yet (GSIs are eventually consistent),
the job fails with NotReady and SQS retries it after the backoff.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from chalicelib.catalog.extensions import purge_steps
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
    testcase_claim,
)
from chalicelib.core.clock import Clock
from chalicelib.core.db import Cancelled, Tx, condition_failed, get_or_none

logger = logging.getLogger("hat.catalog.cleanup")

QUEUE = "catalog"
PAGE = 40  # test cases per transaction: 40 deletes + 1 count update (limit 100 items)
DEFAULT_BUDGET = 200  # transactions per job; the rest is a follow-up job
STUCK_AFTER = timedelta(minutes=5)


class NotReady(Exception):
    """An index still lists fewer (or more) items than the counts say: retry later."""


class Budget:
    def __init__(self, writes: int) -> None:
        self.left = writes

    def spend(self, writes: int = 1) -> None:
        self.left -= writes

    @property
    def exhausted(self) -> bool:
        return self.left <= 0


def enqueue_cleanup(kind: str, item_id: str) -> None:
    from chalicelib.core.jobs import enqueue

    enqueue(QUEUE, {"kind": kind, "id": item_id})


def queue_cleanup(kind: str, item_id: str) -> None:
    """What a delete does once it has marked the item: queue the cascade. If SQS fails now, the
    item stays marked and the reaper queues it later."""
    try:
        enqueue_cleanup(kind, item_id)
    except Exception:  # noqa: BLE001 - the delete itself is done; the reaper finishes the rest
        logger.exception("could not queue the cleanup of %s %s; the reaper will", kind, item_id)


def run_job(payload: dict, *, budget: int = DEFAULT_BUDGET) -> bool:
    """Handle one cleanup job; True when finished, else a follow-up job is queued."""
    kind, item_id = payload.get("kind"), payload.get("id")
    if kind not in ("project", "module") or not isinstance(item_id, str):
        logger.error("dropping a cleanup job it cannot read: %r", payload)
        return True
    allowance = Budget(budget)
    done = purge_project(item_id, allowance) if kind == "project" else purge_module(item_id, allowance)
    if not done:
        logger.info("cleanup of %s %s continues in a follow-up job", kind, item_id)
        enqueue_cleanup(kind, item_id)
    return done


# --- modules -------------------------------------------------------------------------------------

def purge_module(module_id: str, budget: Budget) -> bool:
    module = get_or_none(Module, module_id, consistent_read=True)
    if module is None:
        return True
    if module.status == ACTIVE:
        project = get_or_none(Project, module.project_id, consistent_read=True)
        if project is not None and project.status == ACTIVE:
            return True  # a stale job: nothing to delete
    if not _purge_testcases(module, budget):
        return False
    _delete_module_item(module)
    return True


def _purge_testcases(module: Module, budget: Budget) -> bool:
    while not budget.exhausted:
        results = StoredTestcase.by_module.query(module.id, page_size=PAGE)
        page = [StoredTestcase.from_raw_data(raw) for raw in next(results.page_iter).get("Items", [])]
        if not page:
            fresh = get_or_none(Module, module.id, consistent_read=True)
            if fresh is not None and int(fresh.testcase_count or 0) > 0:
                raise NotReady(f"module {module.id}: {fresh.testcase_count} test cases not in the index yet")
            return True
        with NameClaim.batch_write() as batch:
            for testcase in page:
                batch.delete(NameClaim(testcase_claim(module.id, testcase.name_lc)))
        deleted = delete_counted(page, module.id)
        budget.spend(2)
        if not deleted:
            raise NotReady(f"module {module.id}: the index still lists deleted test cases")
    return False


def delete_counted(testcases: list[StoredTestcase], module_id: str) -> int:
    """Delete test cases and subtract them from the module's count, in one transaction;
    ones already gone are left out (and not counted). Returns how many went."""
    live = list(testcases)
    while live:
        tx = Tx()
        for testcase in live:
            tx.delete(f"tc:{testcase.id}", StoredTestcase(testcase.id), StoredTestcase.id.exists())
        tx.update("module", Module(module_id), [Module.testcase_count.add(-len(live))], Module.id.exists())
        try:
            tx.commit(retries=2)
            return len(live)
        except Cancelled as cancelled:
            gone = {t.id for t in live if cancelled.failed(f"tc:{t.id}")}
            if not gone:
                raise NotReady(f"module {module_id} is gone or busy") from None
            live = [t for t in live if t.id not in gone]
    return 0


def _delete_module_item(module: Module) -> None:
    tx = Tx()
    tx.delete("module", Module(module.id),
              Module.id.exists() & (Module.testcase_count == 0) & (Module.status == module.status))
    if module.status == ACTIVE:  # part of a project's delete: its claim and the project's count
        tx.delete("name", NameClaim(module_claim(module.project_id, module.name_lc)))
        tx.update("project", Project(module.project_id), [Project.module_count.add(-1)],
                  Project.status == DELETING)
    try:
        tx.commit(retries=2)
    except Cancelled as cancelled:
        fresh = get_or_none(Module, module.id, consistent_read=True)
        if fresh is not None:
            raise NotReady(f"module {module.id} could not go yet: {cancelled}") from None


# --- projects ----------------------------------------------------------------------------------

def purge_project(project_id: str, budget: Budget) -> bool:
    project = get_or_none(Project, project_id, consistent_read=True)
    if project is None or project.status != DELETING:
        return True
    while True:
        if budget.exhausted:
            return False
        results = Module.by_project.query(project_id, page_size=25)
        modules = [Module.from_raw_data(raw) for raw in next(results.page_iter).get("Items", [])]
        if not modules:
            fresh = get_or_none(Project, project_id, consistent_read=True)
            if fresh is not None and int(fresh.module_count or 0) > 0:
                raise NotReady(f"project {project_id}: {fresh.module_count} modules not in the index yet")
            break
        progressed = False
        for listed in modules:
            module = get_or_none(Module, listed.id, consistent_read=True)
            if module is None:
                continue  # already gone; the index has not caught up
            if not _purge_testcases(module, budget):
                return False
            _delete_module_item(module)
            budget.spend()
            progressed = True
        if not progressed:
            raise NotReady(f"project {project_id}: the index still lists deleted modules")
    for purge in purge_steps():  # the project's files (chalicelib/files): at most its limit, 100
        budget.spend(purge(project_id))
    with Membership.batch_write() as batch:
        for member_id in project.member_ids or ():
            batch.delete(Membership(member_id, project.sort_key))
    from pynamodb.exceptions import DeleteError

    try:
        Project(project_id).delete(condition=Project.status == DELETING)
    except DeleteError as error:
        if not condition_failed(error):
            raise
    return True


# --- the reaper ----------------------------------------------------------------------------------

def reap(*, clock: Clock) -> int:
    """Queue the cleanup of everything marked deleting for a while (a lost or dead-lettered job)."""
    cutoff = (clock() - STUCK_AFTER).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    queued = 0
    for kind, model in (("project", Project), ("module", Module)):
        for item in model.pending_cleanup.query(PENDING, model.deleting_at < cutoff):
            enqueue_cleanup(kind, item.id)
            queued += 1
    return queued
