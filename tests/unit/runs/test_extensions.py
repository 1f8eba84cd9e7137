"""runs/extensions.py: what schedules plugs into runs (its firing kind, its Task model)."""
from __future__ import annotations

import chalicelib.schedules.jobs as schedules_jobs
from chalicelib.runs.extensions import handler_for


def test_schedules_registers_its_firing_kind_and_claims_untagged_firings():
    assert handler_for({"kind": "fire", "task_id": "t"}) is schedules_jobs.handle_firing
    # A schedule written before firings carried a kind: recognised by its task_id.
    assert handler_for({"task_id": "t", "trigger": "schedule"}) is schedules_jobs.handle_firing


def test_the_kinds_runs_handles_itself_are_not_claimed():
    assert handler_for({"kind": "run", "report_id": "r"}) is None
    assert handler_for({"report_id": "r", "task_id": "t"}) is None  # a run of a task
    assert handler_for({"kind": "chunk", "report_id": "r", "task_id": "t"}) is None
    assert handler_for({}) is None
    assert handler_for({"task_id": ""}) is None
    assert handler_for({"kind": ["fire"]}) is None


def test_schedules_registers_the_model_of_a_reports_task():
    from chalicelib.runs.extensions import task_model
    from chalicelib.schedules.models import Task

    assert task_model() is Task
