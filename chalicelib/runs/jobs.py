"""The runs queue's worker and the stuck-run reaper: thin; logic in worker.py.

Messages: `{"kind": "run", "report_id"}`, `{"kind": "chunk", "report_id", "chunk",
"testcase_ids"}`, `{"kind": "attempt", "report_id", "attempt"}` (a retried run's next attempt,
runs/retries.py), `{"kind": "callback", "report_id"}`, `{"kind": "sandbox", "project_id"}`
(chalicelib.sandbox: a project's debugtalk.py saved or deleted), and EventBridge Scheduler's
`{"kind": "fire", "task_id", "trigger": "schedule", ...}`, handled by chalicelib.schedules,
which registers that kind in runs/extensions.py.
"""
from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.core.settings import load_settings

runs_jobs = Blueprint(__name__)
# Queue names need only the stage (see notify/jobs.py): no get_settings() at import.
_QUEUES = load_settings()


@runs_jobs.on_sqs_message(queue=_QUEUES.queue_name("runs"), batch_size=1)
def run_jobs(event) -> None:
    from chalicelib.core.edge import edge
    from chalicelib.core.jobs import process_records
    from chalicelib.runs.execution import RUN_BUDGET_MARGIN_SECONDS
    from chalicelib.runs.worker import handle_message

    context = getattr(event, "context", None)
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else None
    budget = remaining - RUN_BUDGET_MARGIN_SECONDS if remaining else None
    parts = edge()
    process_records(event, lambda payload: handle_message(
        payload, runner=parts.runner, clock=parts.clock, budget_seconds=budget))


@runs_jobs.schedule(Rate(5, unit=Rate.MINUTES))
def reap_stuck_runs(event) -> None:
    """"Now" is the event's scheduled time (a late delivery only makes the reaper gentler)."""
    from datetime import datetime

    from chalicelib.core.edge import edge
    from chalicelib.runs.worker import reap

    stamp = (event.to_dict() or {}).get("time")
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    reap(clock=(lambda: moment) if moment else edge().clock)
