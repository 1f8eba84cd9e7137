"""Reconcile task records with their schedules (the `tasks_reconcile` cron, every 5 minutes).

The record is the truth for *what* a schedule is (expression, time zone, target); the
Scheduler is the truth for *whether* it runs when someone paused or resumed it by hand
in the AWS console: that state is adopted onto the task (and onto its other schedule,
when it has two), so the API shows it. It also:
- recreates a schedule a task claims but AWS lacks (a crash between the two steps);
- rewrites one whose definition drifted;
- deletes schedules no task claims (a crash mid-create, or a half-done delete), once they
  are older than a grace period, so a create in flight is never touched;
- deletes tasks whose project is gone (the project's cleanup does not know tasks);
- adds the entry of a task its project's index item lacks (tasks made before the index
  existed; see models.py), in a transaction that checks the task still exists.

A system cron, not a request path: it reads the whole tasks table (a paged Scan with a
projection) and lists the group's schedules.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from chalicelib.catalog.access import live_project
from chalicelib.core.clock import Clock
from chalicelib.core.db import condition_failed
from chalicelib.schedules.gateway import (
    DISABLED,
    ENABLED,
    Schedule,
    SchedulerGateway,
    schedule_name,
)
from chalicelib.schedules.models import (
    Task,
    TaskIndex,
    TaskName,
    entry_attribute,
    index_entry,
    index_key,
    index_path,
    name_key,
    raw_index,
)

logger = logging.getLogger("hat.schedules")
ORPHAN_GRACE = timedelta(minutes=10)


@dataclass
class Repairs:
    created: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    adopted: dict[str, bool] = field(default_factory=dict)  # task id -> enabled, as set by hand
    removed_tasks: list[str] = field(default_factory=list)
    indexed: list[str] = field(default_factory=list)  # task ids added to their project's index
    failed: list[str] = field(default_factory=list)


def reconcile(*, gateway: SchedulerGateway, clock: Clock,
              orphan_grace: timedelta = ORPHAN_GRACE) -> Repairs:
    repairs = Repairs()
    claimed: set[str] = set()
    by_project: dict[str, list[Task]] = {}
    for task in Task.scan(consistent_read=True):
        claimed.update(task.schedule_names or [])
        try:
            _reconcile_task(task, gateway, repairs)
        except Exception:
            logger.exception("reconcile of task %s failed; next round tries again", task.id)
            repairs.failed.append(task.id)
        if task.id not in repairs.removed_tasks:
            by_project.setdefault(task.project_id, []).append(task)
    _delete_orphans(claimed, gateway, repairs, clock() - orphan_grace)
    _index_missing(by_project, repairs)
    if any((repairs.created, repairs.rewritten, repairs.deleted, repairs.adopted, repairs.removed_tasks,
            repairs.indexed)):
        logger.info("reconciled schedules: %s", repairs)
    return repairs


def _index_missing(by_project: dict[str, list[Task]], repairs: Repairs) -> None:
    """Add each task its project's index item lacks: a transaction checks the task is still
    there (a delete meanwhile leaves no entry behind) and that no entry appeared meanwhile."""
    from chalicelib.core.db import Cancelled, Tx

    for project_id, tasks in by_project.items():
        try:
            have = set(raw_index(project_id))  # one GetItem per project (a cron, not a route)
        except Exception:
            logger.exception("could not read the task index of project %s; next round tries again",
                             project_id)
            continue
        for task in tasks:
            if entry_attribute(task.id) in have:
                continue
            path = index_path(task.id)
            tx = Tx()
            tx.check("task", Task, task.id, Task.id.exists())
            tx.update("index", TaskIndex(index_key(project_id)),
                      [path.set(index_entry(task.sort_key, task.name_lc)), TaskIndex.task_count.add(1)],
                      path.does_not_exist())
            try:
                tx.commit(retries=1)
            except Cancelled:
                continue  # deleted, or written by the API meanwhile
            except Exception:
                logger.exception("could not index task %s; next round tries again", task.id)
                continue
            repairs.indexed.append(task.id)


def _delete_orphans(claimed: set[str], gateway: SchedulerGateway, repairs: Repairs, before) -> None:
    """Schedules of the group no task claims, made before `before` (not a create in flight)."""
    try:
        summaries = list(gateway.list())
    except Exception:  # e.g. ListSchedules not granted: the task-driven repairs still happened
        logger.exception("could not list the group's schedules; orphans stay until next round")
        return
    for summary in summaries:
        if summary.name in claimed:
            continue
        if summary.created_at is not None and summary.created_at > before:
            continue
        gateway.delete(summary.name)
        repairs.deleted.append(summary.name)


def _reconcile_task(task: Task, gateway: SchedulerGateway, repairs: Repairs) -> None:
    project = live_project(task.project_id, consistent_read=False)
    if project is None:
        _remove_task(task, gateway, repairs)
        return
    held = {name: gateway.get(name) for name in task.schedule_names or []}
    states = {schedule.state for schedule in held.values() if schedule is not None}
    enabled = task.enabled
    if states and states != {ENABLED if task.enabled else DISABLED}:
        # Paused or resumed by hand in the console: that wins, for the whole task.
        enabled = not task.enabled
        try:
            task.update(actions=[Task.enabled.set(enabled), Task.version.add(1)],
                        condition=Task.version == task.version)
        except Exception as error:
            if condition_failed(error):
                return  # changed meanwhile through the API: next round looks again
            raise
        repairs.adopted[task.id] = enabled
    state = ENABLED if enabled else DISABLED
    for index, expression in enumerate(task.expressions or []):
        wanted = Schedule(schedule_name(task.id, index), task.id, expression, task.timezone, state)
        current = held.get(wanted.name)
        if current is None:
            gateway.put(wanted)
            repairs.created.append(wanted.name)
        elif not wanted.same_definition(current) or current.state != state:
            gateway.put(wanted)
            repairs.rewritten.append(wanted.name)


def _remove_task(task: Task, gateway: SchedulerGateway, repairs: Repairs) -> None:
    from chalicelib.core.db import Tx

    for name in task.schedule_names or []:
        gateway.delete(name)
    (Tx().delete("task", task)
         .delete("name", TaskName(name_key(task.project_id, task.name_lc)))
         .delete("index", TaskIndex(index_key(task.project_id)))  # the project is gone: its index too
         .commit())
    repairs.removed_tasks.append(task.id)
