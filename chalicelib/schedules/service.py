"""Scheduled tasks: a task record in DynamoDB, its schedules in EventBridge Scheduler.

A task runs a project's modules (none listed: the whole project) on a 5-field crontab in
an IANA time zone. Its crontab becomes one AWS `cron(...)` expression, or two when it
restricts both day fields (Unix ORs them), each a schedule named from the task id in the
stage's group (gateway.py). Every change moves the schedules first and then writes the
record in one transaction; a failure in either undoes the Scheduler calls made
(changes.py). Names are unique per project by a claim item in the same transaction.

Access is the project's: a task of a project the caller is not a member of is a 404.
DynamoDB calls per route (auth's GetItem on top) are noted on each function.
"""
from __future__ import annotations

import heapq
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.catalog.access import load_project
from chalicelib.catalog.alert_channels import channels_view, stored_alerts
from chalicelib.catalog.models import ACTIVE, Membership, Module, Project
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import Cancelled, Tx, batch_get_items, get_many, get_or_none
from chalicelib.core.errors import Conflict, HatError, NotFound, ValidationFailed
from chalicelib.core.ids import fold, is_id, new_id, sort_key
from chalicelib.core.pagination import decode_cursor, encode_cursor
from chalicelib.core.settings import get_settings
from chalicelib.schedules.awscron import parse_cron, split_expression
from chalicelib.schedules.changes import compensating
from chalicelib.schedules.crontab import to_aws_expressions
from chalicelib.schedules.gateway import (
    DISABLED,
    ENABLED,
    Schedule,
    SchedulerGateway,
    schedule_name,
)
from chalicelib.schedules.models import (
    ENTRY_PREFIX,
    Task,
    TaskIndex,
    TaskName,
    index_entry,
    index_key,
    index_path,
    name_key,
    parse_entry,
)
from chalicelib.schedules.schemas import TaskCreate, TaskPatch

logger = logging.getLogger("hat.schedules")

NEXT_RUNS = 3
NAME_FILTER_READ_AHEAD = 200
TASKS_PER_PROJECT = 1000  # keeps a project's index item far below DynamoDB's 400 KB
MISSING = "MISSING"


# --- helpers -------------------------------------------------------------------------------------

def not_found() -> NotFound:
    return NotFound("task not found", code="task_not_found")


def _member_of(user_id: str):
    return (Project.status == ACTIVE) & Project.member_ids.contains(user_id)


def _module_of(project_id: str):
    return (Module.project_id == project_id) & (Module.status == ACTIVE)


def _check_environment(project: Project, environment: str | None) -> None:
    if environment is not None and environment not in (project.environments or {}):
        raise ValidationFailed({"environment": f"the project has no environment {environment!r}"})


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a task named {name!r} already exists in this project", code="name_taken",
                    fields={"name": "already taken"})


def _raise_cancelled(error: Cancelled, module_ids: list[str], name: str) -> None:
    if error.failed("project"):
        raise NotFound("project not found", code="project_not_found") from error
    for index, module_id in enumerate(module_ids):
        if error.failed(f"module:{module_id}"):
            raise ValidationFailed({f"module_ids[{index}]": "not a module of this project"}) from error
    if error.failed("name"):
        raise _name_taken(name) from error
    if error.failed("index"):
        raise Conflict(f"a project has at most {TASKS_PER_PROJECT} tasks", code="too_many_tasks")
    if error.failed("task"):
        raise Conflict("the task changed while this request was made; try again",
                       code="concurrent_change") from error
    raise error


def _index_put(tx: Tx, project_id: str, task_id: str, sort_key_: str, name_lc: str, *,
               new: bool) -> None:
    """Write the task's entry in its project's index item (created by the first task); a new
    task also counts, under the per-project cap."""
    actions = [index_path(task_id).set(index_entry(sort_key_, name_lc))]
    condition = None
    if new:
        actions.append(TaskIndex.task_count.add(1))
        condition = TaskIndex.task_count.does_not_exist() | (TaskIndex.task_count < TASKS_PER_PROJECT)
    tx.update("index", TaskIndex(index_key(project_id)), actions, condition)


def _index_remove(tx: Tx, project_id: str, task_id: str) -> None:
    tx.update("index", TaskIndex(index_key(project_id)),
              [index_path(task_id).remove(), TaskIndex.task_count.add(-1)])


def _schedules_for(task_id: str, expressions: list[str], timezone: str, state: str) -> list[Schedule]:
    return [Schedule(schedule_name(task_id, index), task_id, expression, timezone, state)
            for index, expression in enumerate(expressions)]


def _last_report(task: Task) -> dict | None:
    last = task.last_report
    if not last:
        return None
    try:
        from chalicelib.runs.reading import get_report_summary
    except ImportError:  # the runs feature is not deployed with this build
        return dict(last)
    summary = get_report_summary(last["id"]) or {}
    return {**last, "status": summary.get("status", last.get("status"))}


# --- views -----------------------------------------------------------------------------------------

def task_view(task: Task, *, last_report: dict | None = None) -> dict:
    return {
        "id": task.id,
        "project_id": task.project_id,
        "name": task.name,
        "module_ids": list(task.module_ids or []),
        "environment": task.environment,
        "crontab": task.crontab,
        "timezone": task.timezone,
        "enabled": bool(task.enabled),
        "notify": task.notify or {"emails": [], "mobiles": [], "when": "never"},
        "alerts": channels_view(task.alerts),
        "retries": task.retries or None,
        "expressions": list(task.expressions or []),
        "run_count": int(task.run_count or 0),
        "last_report": last_report if last_report is not None else (dict(task.last_report)
                                                                    if task.last_report else None),
        "sync_imports": bool(task.sync_imports),
        "last_import_sync": task.last_import_sync,
        "created_by": task.created_by,
        "created_at": isoformat(task.created_at),
        "updated_at": isoformat(task.updated_at),
    }


def next_runs(schedules: list[Schedule], zone_name: str, after: datetime,
              count: int = NEXT_RUNS) -> list[str]:
    """The next `count` fire times of the ENABLED schedules, ISO 8601 in the task's zone."""
    streams = []
    for schedule in schedules:
        if schedule.state != ENABLED:
            continue
        try:
            kind, body = split_expression(schedule.expression)
            if kind != "cron":
                continue
            zone = ZoneInfo(schedule.timezone or "UTC")
            streams.append(parse_cron(body).next_fire_times(after, zone, count))
        except ValueError:
            logger.warning("schedule %s holds an expression we cannot evaluate: %s",
                           schedule.name, schedule.expression)
    moments = sorted(set(heapq.merge(*streams)))[:count]
    zone = ZoneInfo(zone_name)
    return [moment.astimezone(zone).isoformat() for moment in moments]


def schedule_view(task: Task, held: list[Schedule | None], now: datetime) -> dict:
    """The schedule as AWS holds it: expressions, state, the next three fire times."""
    present = [schedule for schedule in held if schedule is not None]
    states = {schedule.state for schedule in present}
    if len(present) < len(held) or not held:
        state = MISSING
    elif len(states) == 1:
        state = states.pop()
    else:
        state = "PARTLY_" + DISABLED  # one of two paused by hand; reconcile settles it
    expressions = [schedule.expression for schedule in present]
    return {
        "group": get_settings().schedule_group,
        "names": [schedule.name for schedule in present],
        "expression": expressions[0] if expressions else None,
        "expressions": expressions,
        "timezone": present[0].timezone if present else task.timezone,
        "state": state,
        "next_runs": next_runs(present, task.timezone, now),
    }


# --- loading ---------------------------------------------------------------------------------------

def task_history(user: User, task_id: str) -> dict:
    """GET /tasks/{id}/history: GetItem (task) + GetItem (project, for access), GetItem (the
    history runs keeps, runs/history.py)."""
    from chalicelib.runs.history import stream_view

    task, _project = _load(user, task_id)
    return stream_view("task", task.id)


def _load(user: User, task_id: str) -> tuple[Task, Project]:
    """The task and its project if the caller is a member; else 404 (whatever the reason).
    GetItem (task) + GetItem (project): the project id is on the task."""
    if not is_id(task_id):
        raise not_found()
    task = get_or_none(Task, task_id, consistent_read=True)
    if task is None:
        raise not_found()
    try:
        project = load_project(user, task.project_id)
    except NotFound:
        raise not_found() from None
    return task, project


# --- create ----------------------------------------------------------------------------------------

def create_task(user: User, body: TaskCreate, *, gateway: SchedulerGateway,
                clock: Clock) -> dict:
    """GetItem (project) + one TransactWriteItems (task, name claim, project and module checks)."""
    project = load_project(user, body.project_id)
    _check_environment(project, body.environment)
    timezone = body.timezone or get_settings().default_timezone
    expressions = to_aws_expressions(body.crontab)
    now, task_id = clock(), new_id()
    schedules = _schedules_for(task_id, expressions, timezone, ENABLED if body.enabled else DISABLED)
    task = Task(
        task_id, project_id=project.id, name=body.name, name_lc=fold(body.name),
        module_ids=list(body.module_ids), environment=body.environment, crontab=body.crontab,
        timezone=timezone, expressions=expressions, schedule_names=[s.name for s in schedules],
        enabled=body.enabled, notify=body.notify.model_dump(), alerts=stored_alerts(body.alerts, None),
        run_count=0, version=0,
        sync_imports=body.sync_imports,
        retries=body.retries.model_dump() if body.retries is not None else None,
        created_by=user["id"], created_at=now, updated_at=now, sort_key=sort_key(now, task_id),
    )
    tx = Tx()
    tx.check("project", Project, project.id, _member_of(user["id"]))
    for module_id in body.module_ids:
        tx.check(f"module:{module_id}", Module, module_id, _module_of(project.id))
    tx.put("task", task, Task.id.does_not_exist())
    tx.put("name", TaskName(name_key(project.id, task.name_lc), task_id=task_id),
           TaskName.key.does_not_exist())
    _index_put(tx, project.id, task_id, task.sort_key, task.name_lc, new=True)
    with compensating(gateway) as changes:
        for schedule in schedules:
            changes.create(schedule)
        try:
            tx.commit(retries=1)
        except Cancelled as error:
            _raise_cancelled(error, list(body.module_ids), body.name)
    _ask_recipients(task, user["id"])
    return task_view(task)


def _ask_recipients(task: Task, user_id: str) -> None:
    """Outside addresses among the task's recipients and email/SMS alert channels are asked to
    confirm (a job, no DynamoDB call)."""
    from chalicelib.notify.recipients import request_confirmations

    request_confirmations(task.project_id, task.notify, user_id, task.alerts)


# --- read ------------------------------------------------------------------------------------------

def get_task(user: User, task_id: str, *, gateway: SchedulerGateway,
             clock: Clock) -> dict:
    """GetItem (task) + GetItem (project) + GetItem (last report's summary, if any)."""
    task, _ = _load(user, task_id)
    held = [gateway.get(name) for name in task.schedule_names or []]
    view = task_view(task, last_report=_last_report(task))
    view["schedule"] = schedule_view(task, held, clock())
    return view


def _project_ids(user: User) -> list[str]:
    """The caller's projects: one Query of memberships (more pages only past 1 MB)."""
    return [row.project_id for row in Membership.query(user["id"], attributes_to_get=["project_id"])]


def _query_project(project_id: str, before: str | None, prefix: str | None,
                   limit: int) -> tuple[list[Task], str | None]:
    """One Query: up to `limit` of a project's tasks newest change first, below `before`; and
    the sort_key to continue below (None: nothing older is left)."""
    range_condition = Task.sort_key < before if before else None
    filter_condition = Task.name_lc.startswith(prefix) if prefix else None
    page_size = max(limit + 1, NAME_FILTER_READ_AHEAD if prefix else 0)
    results = Task.by_project.query(project_id, range_condition, filter_condition,
                                    scan_index_forward=False, page_size=page_size)
    raw = next(results.page_iter)
    tasks = [Task.from_raw_data(item) for item in raw.get("Items", [])]
    if len(tasks) > limit:
        tasks = tasks[:limit]
        return tasks, tasks[-1].sort_key
    last = raw.get("LastEvaluatedKey")  # read up to there (a filter dropped the rest)
    return tasks, last["sort_key"]["S"] if last else None


def _index_entries(project_ids: list[str]) -> list[tuple[str, str, str]]:
    """(sort_key, task id, folded name) of every task of these projects: one BatchGetItem of
    their index items per 100 projects."""
    table = TaskIndex.Meta.table_name
    items = batch_get_items([(table, {"key": {"S": index_key(pid)}}) for pid in project_ids])
    entries = []
    for item in filter(None, items):
        for attribute, value in item.items():
            task_id = attribute[len(ENTRY_PREFIX):]
            if attribute.startswith(ENTRY_PREFIX) and is_id(task_id) and "S" in value:
                entries.append(parse_entry(value["S"]))
    return entries


def _list_across(project_ids: list[str], before: str | None, prefix: str | None,
                 limit: int) -> tuple[list[Task], str | None]:
    """The caller's tasks over all their projects: which and in what order from the projects'
    index items, then the tasks shown in one BatchGetItem (limit <= 100)."""
    entries = sorted((entry for entry in _index_entries(project_ids)
                      if (before is None or entry[0] < before)
                      and (prefix is None or entry[2].startswith(prefix))), reverse=True)
    page = entries[:limit]
    allowed = set(project_ids)
    # deleted since the index was read, or (never) of a project not the caller's: left out
    tasks = [task for task in get_many([(Task, task_id) for _, task_id, _ in page])
             if task is not None and task.project_id in allowed]
    return tasks, page[-1][0] if len(entries) > limit else None


def list_tasks(user: User, limit: int, cursor: str | None, *, name: str | None = None,
               project_id: str | None = None, include: str | None = None) -> dict:
    """Newest change first. With ?project_id=: GetItem (project) + one Query. Without: one Query
    of the caller's memberships + one BatchGetItem of their projects' index items (per 100
    projects) + one BatchGetItem of the tasks shown: bounded, whatever the number of projects.
    `include="history"`: each task with its history, one BatchGetItem more (per 100)."""
    if include not in (None, "", "history"):
        raise ValidationFailed({"include": "the one value is history"})
    before = None
    if cursor:
        decoded = decode_cursor(cursor)
        scope = project_id or ""
        if not isinstance(decoded, dict) or decoded.get("scope") != scope or \
                not isinstance(decoded.get("before"), str):
            raise ValidationFailed({"cursor": "not a cursor of this list"})
        before = decoded["before"]
    prefix = fold(name) if name else None
    if prefix is not None and len(prefix) > 100:
        raise ValidationFailed({"name": "at most 100 characters"})
    if project_id:
        tasks, next_before = _query_project(load_project(user, project_id).id, before, prefix, limit)
    else:
        project_ids = _project_ids(user)
        if not project_ids:
            return {"items": [], "next_cursor": None}
        tasks, next_before = _list_across(project_ids, before, prefix, limit)
    next_cursor = encode_cursor({"scope": project_id or "", "before": next_before}) if next_before else None
    items = [task_view(task) for task in tasks]
    if include == "history" and items:
        from chalicelib.runs.history import streams_view

        histories = streams_view("task", [item["id"] for item in items])
        items = [{**item, "history": histories[item["id"]]} for item in items]
    return {"items": items, "next_cursor": next_cursor}


# --- update ----------------------------------------------------------------------------------------

def update_task(user: User, task_id: str, body: TaskPatch, *, gateway: SchedulerGateway,
                clock: Clock) -> dict:
    """GetItem (task) + GetItem (project) + one TransactWriteItems."""
    task, project = _load(user, task_id)
    sent = body.model_fields_set
    changes_to: dict = {}
    for field in ("name", "module_ids", "crontab", "timezone", "enabled", "notify"):
        value = getattr(body, field)
        if field in sent and value is None:
            raise ValidationFailed({field: "must not be null"})
        if field in sent:
            changes_to[field] = value.model_dump() if field == "notify" else value
    if "environment" in sent:
        _check_environment(project, body.environment)
        changes_to["environment"] = body.environment
    if "alerts" in sent:
        changes_to["alerts"] = stored_alerts(body.alerts, task.alerts)
    if "sync_imports" in sent:
        if body.sync_imports is None:
            raise ValidationFailed({"sync_imports": "must not be null"})
        changes_to["sync_imports"] = body.sync_imports
    if "retries" in sent:  # null clears it
        changes_to["retries"] = body.retries.model_dump() if body.retries is not None else None
    now = clock()
    crontab = changes_to.get("crontab", task.crontab)
    timezone = changes_to.get("timezone", task.timezone)
    expressions = to_aws_expressions(crontab) if "crontab" in changes_to else list(task.expressions)
    moves_schedules = bool({"crontab", "timezone", "enabled"} & set(changes_to))
    old_names = list(task.schedule_names or [])
    enabled = changes_to.get("enabled", task.enabled)

    actions = [Task.updated_at.set(now), Task.sort_key.set(sort_key(now, task.id)), Task.version.add(1)]
    tx = Tx()
    tx.check("project", Project, project.id, _member_of(user["id"]))
    module_ids = list(changes_to.get("module_ids", []))
    for module_id in module_ids:
        tx.check(f"module:{module_id}", Module, module_id, _module_of(project.id))
    name = changes_to.get("name", task.name)
    if "name" in changes_to and fold(name) != task.name_lc:
        tx.delete("old-name", TaskName(name_key(project.id, task.name_lc)), TaskName.task_id == task.id)
        tx.put("name", TaskName(name_key(project.id, fold(name)), task_id=task.id),
               TaskName.key.does_not_exist())
    for field, value in changes_to.items():
        actions.append(getattr(Task, field).set(value))
    if "name" in changes_to:
        actions.append(Task.name_lc.set(fold(name)))
    _index_put(tx, project.id, task.id, sort_key(now, task.id), fold(name), new=False)

    with compensating(gateway) as changes:
        if moves_schedules:
            held = {n: gateway.get(n) for n in old_names}
            if "enabled" not in changes_to:
                # Keep a pause or resume done by hand in the console (and record it).
                states = {s.state for s in held.values() if s is not None}
                if len(states) == 1:
                    enabled = states.pop() == ENABLED
                    if enabled != task.enabled:
                        actions.append(Task.enabled.set(enabled))
            wanted = _schedules_for(task.id, expressions, timezone, ENABLED if enabled else DISABLED)
            for schedule in wanted:
                previous = held.get(schedule.name)
                if previous is None:
                    changes.create(schedule)
                else:
                    changes.update(schedule, previous)
            for old in old_names:
                if old not in {s.name for s in wanted} and held.get(old) is not None:
                    changes.delete(held[old])
            actions += [Task.expressions.set(expressions),
                        Task.schedule_names.set([s.name for s in wanted])]
        tx.update("task", task, actions, Task.version == task.version)
        try:
            tx.commit(retries=1)
        except Cancelled as error:
            _raise_cancelled(error, module_ids, name)
    for field, value in changes_to.items():
        setattr(task, field, value)
    task.name_lc, task.updated_at, task.sort_key = fold(name), now, sort_key(now, task.id)
    task.enabled, task.expressions = enabled, expressions
    if moves_schedules:
        task.schedule_names = [schedule_name(task.id, i) for i in range(len(expressions))]
    task.version = int(task.version or 0) + 1
    if "notify" in changes_to or "alerts" in changes_to:
        _ask_recipients(task, user["id"])
    return task_view(task)


# --- delete ----------------------------------------------------------------------------------------

def delete_task(user: User, task_id: str, *, gateway: SchedulerGateway) -> None:
    """GetItem (task) + GetItem (project) + one TransactWriteItems (task and its name claim)."""
    task, project = _load(user, task_id)
    tx = Tx()
    tx.check("project", Project, project.id, _member_of(user["id"]))
    tx.delete("task", task, Task.version == task.version)
    tx.delete("name", TaskName(name_key(task.project_id, task.name_lc)))
    _index_remove(tx, task.project_id, task.id)
    with compensating(gateway) as changes:
        for name in task.schedule_names or []:
            held = gateway.get(name)
            if held is not None:
                changes.delete(held)
        try:
            tx.commit(retries=1)
        except Cancelled as error:
            _raise_cancelled(error, [], task.name)


# --- runs ------------------------------------------------------------------------------------------

def _start(task: Task, *, trigger: str, started_by: str | None, clock: Clock,
           project: Project | str | None = None,
           import_sync: list[dict] | None = None) -> dict:
    """start_run (given the Project already read, no GetItem) with the task's count in the
    report's own transaction: ADD run_count 1, SET last_report (atomic, exact under any race;
    a task deleted meanwhile is a NotFound and no run starts), and the outcome of the re-sync
    before it (`import_sync`, when the task re-syncs its imports)."""
    from chalicelib.runs.queueing import start_run

    def count_run(report_id: str) -> tuple:
        last = {"id": report_id, "status": "queued", "at": isoformat(clock())}
        actions = [Task.run_count.add(1), Task.last_report.set(last)]
        if import_sync is not None:
            actions.append(Task.last_import_sync.set({"report_id": report_id, "at": last["at"],
                                                      "modules": import_sync}))
        return task, actions, Task.id.exists()

    return start_run(project if project is not None else task.project_id,
                     module_ids=list(task.module_ids or []),
                     environment=task.environment, trigger=trigger, task_id=task.id,
                     notify=task.notify or None, started_by=started_by, also_update=count_run,
                     retries_policy=task.retries or None, import_sync=import_sync,
                     clock=clock)


def firing_key(task_id: str, scheduled_time: str | None) -> str | None:
    """The idempotency key of one firing of a task's schedule: 'fire:<task>:<scheduled time>';
    None when the message carries no usable time (a schedule written before the Input had
    one, or a placeholder the Scheduler did not replace): such a message is not deduplicated,
    since a constant key would swallow every later firing."""
    if not isinstance(scheduled_time, str) or not scheduled_time:
        return None
    try:
        datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    except ValueError:
        logger.warning("scheduled message for task %s has no usable scheduled_time (%r): "
                       "it is not deduplicated", task_id, scheduled_time[:64])
        return None
    return f"fire:{task_id}:{scheduled_time}"


def fire_task(task_id: str, *, scheduled_time: str | None = None, clock: Clock) -> dict | None:
    """A schedule fired: start the task's run, unless it was deleted or disabled meanwhile.

    Called by the runs worker for `{"task_id", "trigger": "schedule", "scheduled_time"}`
    messages. EventBridge Scheduler delivers at least once, so one firing (task, scheduled
    time) starts at most one run: the whole effect runs under `core.jobs.run_once`
    (conditional PutItem claim, then UpdateItem COMPLETED); a redelivery finds the claim
    COMPLETED and returns None (one PutItem + one GetItem), or, while the first delivery is
    still at work, raises JobInProgress so the queue retries it later. A message without
    scheduled_time (older schedules) starts a run every time, as before.
    The run itself: GetItem (task; a deleted or disabled one stops here) + start_run's
    GetItem (project) + one TransactWriteItems (the report, with the task's run_count and
    last_report), then the run's message on the runs queue."""
    if not isinstance(task_id, str) or not task_id:
        logger.info("schedule fired without a task id: nothing started")
        return None
    key = firing_key(task_id, scheduled_time)
    if key is None:
        return _fire(task_id, clock=clock)
    from chalicelib.core.jobs import run_once

    ran, result = run_once(key, lambda: _fire(task_id, clock=clock), clock=clock)
    if not ran:
        logger.info("task %s: the firing of %s was delivered again; it started its run already",
                    task_id, scheduled_time)
    return result


def _fire(task_id: str, *, clock: Clock) -> dict | None:
    task = get_or_none(Task, task_id, consistent_read=True)
    if task is None:
        logger.info("schedule fired for task %s, which no longer exists: nothing started", task_id)
        return None
    if not task.enabled:
        logger.info("schedule fired for disabled task %s: nothing started", task_id)
        return None
    # as the user who made the task: catalog checks that they still belong to its project
    import_sync = _sync_imports(task, {"id": task.created_by}, FIRING_SYNC_SECONDS, clock)
    try:
        return _start(task, trigger="schedule", started_by=None, clock=clock, import_sync=import_sync)
    except HatError as error:
        if 400 <= error.status_code < 500:  # its project or modules are gone: retrying cannot help
            logger.warning("task %s could not start a run: %s", task_id, error.message)
            return None
        raise


# How long the re-syncs before a run may take: a firing runs in the runs worker (300 s), a
# POST /tasks/{id}/runs in an API request (29 s at the gateway).
FIRING_SYNC_SECONDS = 120
REQUEST_SYNC_SECONDS = 20


def _sync_imports(task: Task, user: User, budget_seconds: float, clock: Clock) -> list[dict] | None:
    """With `sync_imports`: re-sync the task's modules imported from a URL (imports/service.py)
    and answer the outcome per module, which never stops the run; None without the option."""
    if not task.sync_imports:
        return None
    from chalicelib.imports.service import sync_before_run

    return sync_before_run(user, task.project_id, list(task.module_ids or []),
                           budget_seconds=budget_seconds, clock=clock)


def run_task_now(user: User, task_id: str, *, clock: Clock) -> dict:
    """POST /tasks/{id}/runs: GetItem (task) + GetItem (project, membership) + one
    TransactWriteItems (the report, the task's run_count and last_report)."""
    task, project = _load(user, task_id)
    import_sync = _sync_imports(task, user, REQUEST_SYNC_SECONDS, clock)
    result = _start(task, trigger="manual", started_by=user["id"], clock=clock, project=project,
                    import_sync=import_sync)
    return {"report_id": result["report_id"], "status": result.get("status", "queued")}
