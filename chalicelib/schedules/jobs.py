"""The reconcile cron, and what schedules plugs into runs (runs/extensions.py). Thin.

The runs worker reads the runs queue; schedules registers its firing kind there (runs never
imports schedules). A firing without `kind` (a schedule written before firings carried one,
until the reconcile cron rewrites it) is recognised by its `task_id`.
"""
from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.runs.extensions import register_kind, register_task_model
from chalicelib.schedules.gateway import FIRE_KIND, default_gateway

schedules_jobs = Blueprint(__name__)


def handle_firing(payload: dict) -> object:
    """`{"kind": "fire", "task_id", "trigger": "schedule", "scheduled_time"}`: start the task's run."""
    from chalicelib.core.edge import edge
    from chalicelib.schedules.service import fire_task

    return fire_task(payload.get("task_id"), scheduled_time=payload.get("scheduled_time"), clock=edge().clock)


def task_model() -> type:
    """The model of a report's task, for runs' alerts (its channels and name)."""
    from chalicelib.schedules.models import Task

    return Task


register_kind(FIRE_KIND, handle_firing, untagged_field="task_id")
register_task_model(task_model)


@schedules_jobs.schedule(Rate(5, unit=Rate.MINUTES))
def tasks_reconcile(event) -> None:
    from chalicelib.core.edge import edge
    from chalicelib.schedules.reconcile import reconcile

    reconcile(gateway=default_gateway(), clock=edge().clock)
