"""Starting runs: a `queued` report (the project's defaults applied) and its job on the runs
queue, for the run routes and for other features (`start_run`: tasks, with an update that
commits with the report). DynamoDB calls are noted on each function."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.catalog.access import live_project, load_module, load_project, load_testcase_with_project
from chalicelib.catalog.models import Project
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.errors import NotFound
from chalicelib.core.ids import checked_id, precise
from chalicelib.core.jobs import enqueue
from chalicelib.runs import retries
from chalicelib.runs.execution import choose_environment
from chalicelib.runs.models import (
    QUEUED,
    Report,
)
from chalicelib.runs.reading import not_found

if TYPE_CHECKING:
    from chalicelib.runs import schemas

TRIGGERS = ("manual", "schedule", "webhook")


def new_report(project: Project, *, trigger: str, name: str, environment: str | None,
               module_ids: list[str] | None, testcase_ids: list[str] | None, task_id: str | None,
               notify: dict | None, callback_url: str | None, started_by: str | None,
               clock: Clock, origin: dict | None = None, retries_policy: dict | None = None,
               import_sync: list[dict] | None = None) -> Report:
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    now, report_id = clock(), uuid.uuid4().hex
    return Report(
        report_id, project_id=project.id, sort_key=f"{precise(now)}#{report_id}", status=QUEUED,
        trigger=trigger, task_id=task_id, started_by=started_by, name=name, environment=environment,
        module_ids=list(module_ids) if module_ids else None,
        testcase_ids=list(testcase_ids) if testcase_ids else None,
        notify=notify or None, callback_url=callback_url or None, origin=origin, created_at=now,
        tests_run=0, successes=0, failures=0, active=QUEUED, active_since=precise(now),
        retries=retries_policy if retries.enabled(retries_policy) else None, import_sync=import_sync)


def enqueue_run(report_id: str) -> None:
    enqueue("runs", {"kind": "run", "report_id": report_id, "job_id": f"run-{report_id}"})


def with_project_defaults(project: Project, fields: dict) -> dict:
    """A run that names no recipients (or no callback) of its own takes the project's."""
    notify = fields.get("notify") or {}
    if not (notify.get("emails") or notify.get("mobiles")) and project.notify:
        fields["notify"] = project.notify
    fields["callback_url"] = fields.get("callback_url") or project.callback_url
    return fields


# With a report's id: (item, update actions, condition) to write in the report's transaction.
AlsoUpdate = Callable[[str], tuple[Any, list, Any]]


def _queued(project: Project, *, environment: str | None, also_update: AlsoUpdate | None = None,
            **fields: Any) -> dict:
    env_name, _env = choose_environment(project, environment)
    own_notify = fields.get("notify") if fields.get("task_id") is None else None
    report = new_report(project, environment=env_name, **with_project_defaults(project, fields))
    if also_update is None:
        report.save(condition=Report.id.does_not_exist())
    else:
        _save_with(report, also_update(report.id))
    enqueue_run(report.id)
    ask_recipients(project, own_notify, report.started_by)
    return {"report_id": report.id, "status": QUEUED}


def ask_recipients(project: Project, notify: dict | None, started_by: str | None) -> None:
    """A run's own recipients (not its task's or project's, asked when those were set): the
    outside addresses among them are asked to confirm (a job; no DynamoDB call here)."""
    from chalicelib.notify.recipients import request_confirmations

    request_confirmations(project.id, notify, started_by)


def _save_with(report: Report, update: tuple[Any, list, Any]) -> None:
    """The report and the caller's update commit together (one TransactWriteItems); a failed
    condition on the caller's item is a NotFound of it, and no report is written."""
    from chalicelib.core.db import Cancelled, Tx

    item, actions, condition = update
    try:
        (Tx().put("report", report, Report.id.does_not_exist())
             .update("item", item, actions, condition)
             .commit())
    except Cancelled as cancelled:
        if cancelled.failed("item"):
            raise NotFound(f"{type(item).__name__.lower()} not found", code="not_found") from None
        raise


def start_run(project: str | Project, *, module_ids: list[str] | None, testcase_ids: list[str] | None = None,
              environment: str | None, trigger: str, task_id: str | None = None,
              notify: dict | None = None, callback_url: str | None = None,
              started_by: str | None = None, name: str | None = None,
              also_update: AlsoUpdate | None = None, retries_policy: dict | None = None,
              import_sync: list[dict] | None = None, clock: Clock) -> dict:
    """For tasks and other features: queue a run of a project (or some modules / test cases).
    `project` is its id, or the Project the caller has just read (saves the GetItem);
    `also_update(report_id)` names an update that commits with the report (a task's run
    count), so that both happen or neither. GetItem (project, given an id), PutItem (report;
    TransactWriteItems with `also_update`), and the job. Raises NotFound for a project (or
    the updated item) that is gone, ValidationFailed for an unknown environment.
    `retries_policy`: the run's retry policy (schemas.Retries as a dict; runs/retries.py);
    `import_sync`: what re-syncing the imports before it did, kept on the report."""
    if isinstance(project, str):
        project = live_project(checked_id(project, "project"))
    if project is None:
        raise not_found("project")
    return _queued(project, environment=environment, trigger=trigger, name=name or project.name,
                   module_ids=module_ids, testcase_ids=testcase_ids, task_id=task_id, notify=notify,
                   callback_url=callback_url, started_by=started_by, also_update=also_update,
                   retries_policy=retries_policy, import_sync=import_sync, clock=clock)


def run_project(user: User, project_id: str, body: schemas.ProjectRunBody, *, clock: Clock) -> dict:
    """GetItem (project), PutItem (report). `body.module_ids`: only those modules (the worker
    reads the project's own modules, so an id of another project's runs nothing)."""
    project = load_project(user, project_id)
    return _queued(project, environment=body.environment, trigger="manual", name=project.name,
                   module_ids=getattr(body, "module_ids", None), testcase_ids=None, task_id=None,
                   notify=notify_of(body), callback_url=body.callback_url, started_by=user["id"],
                   retries_policy=retries_of(body), clock=clock)


def run_module(user: User, module_id: str, body: schemas.RunBody, *, clock: Clock) -> dict:
    """Two GetItems (module, project), PutItem (report)."""
    module, project = load_module(user, module_id)
    return _queued(project, environment=body.environment, trigger="manual", name=module.name,
                   module_ids=[module.id], testcase_ids=None, task_id=None, notify=notify_of(body),
                   callback_url=body.callback_url, started_by=user["id"], retries_policy=retries_of(body),
                   clock=clock)


def run_testcase(user: User, testcase_id: str, body: schemas.RunBody, *, clock: Clock) -> dict:
    """GetItem (test case), BatchGetItem (its module and project), PutItem (report)."""
    testcase, project = load_testcase_with_project(user, testcase_id)
    return _queued(project, environment=body.environment, trigger="manual", name=testcase.name,
                   module_ids=None, testcase_ids=[testcase.id], task_id=None, notify=notify_of(body),
                   callback_url=body.callback_url, started_by=user["id"], retries_policy=retries_of(body),
                   clock=clock)


def notify_of(body: Any) -> dict | None:
    notify = getattr(body, "notify", None)
    return notify.model_dump() if notify is not None else None


def retries_of(body: Any) -> dict | None:
    policy = getattr(body, "retries", None)
    return policy.model_dump() if policy is not None else None
