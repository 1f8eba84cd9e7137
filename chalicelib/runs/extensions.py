"""What other features plug into runs, registered by them (runs imports none of them).

- Message kinds on the runs queue: schedule firings (`{"kind": "fire", "task_id", ...}`) are
  chalicelib.schedules' to handle.
- The model of a report's task (its alert channels and name, read with the report's project).

schedules registers both in schedules/jobs.py, which app.py imports, so dependencies point one
way (schedules -> runs). Imports nothing: registering costs nothing at `import app`.
"""
from __future__ import annotations

from collections.abc import Callable

Handler = Callable[[dict], object]

_handlers: dict[str, Handler] = {}
_untagged: dict[str, str] = {}  # a field -> the kind of a message without `kind` that carries it


def register_kind(kind: str, handler: Handler, *, untagged_field: str | None = None) -> None:
    """`handler(payload)` handles the runs-queue messages of `kind`. With `untagged_field`, a
    message without `kind` or `report_id` but with that field is this kind too (messages written
    before the kind existed, e.g. schedules the reconcile cron has not rewritten yet)."""
    _handlers[kind] = handler
    if untagged_field:
        _untagged[untagged_field] = kind


def handler_for(payload: dict) -> Handler | None:
    """The registered handler of this message's kind; None for the kinds runs handles itself."""
    kind = payload.get("kind")
    if kind is None and "report_id" not in payload:
        kind = next((k for field, k in _untagged.items() if payload.get(field)), None)
    return _handlers.get(kind) if isinstance(kind, str) else None


_task_model: list[Callable[[], type]] = []


def register_task_model(load: Callable[[], type]) -> None:
    """`load()` returns the PynamoDB model of a report's `task_id` (imported when first needed)."""
    _task_model[:] = [load]


def task_model() -> type | None:
    """The registered model of a report's task; None when no feature registered one."""
    return _task_model[0]() if _task_model else None
