"""What features above catalog plug into it, registered by them (catalog imports none of them).

- The function names of a project's debugtalk.py, which checking a test case that calls user
  code needs: chalicelib.sandbox's (`register_functions_source`).
- What else goes when a deleted project is purged, before its members' rows and its item:
  the project's files, chalicelib.files' (`on_project_purged`).
- Who is told when a project's default recipients or alert channels are stored: notify asks
  their outside addresses to confirm (`on_recipients_stored`).

Each feature registers in the routes or jobs module app.py imports (sandbox/routes.py,
files/routes.py, notify/jobs.py), so every Lambda of the app has them all and dependencies
point one way (sandbox, files, notify -> catalog). Registering imports nothing: it costs
nothing at `import app`. In the style of chalicelib/runs/extensions.py.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

FunctionsSource = Callable[[str], "frozenset[str] | None"]
# purge(project_id) -> how many writes it spent (the cleanup job's budget counts them)
PurgeStep = Callable[[str], int]
# told(project_id, notify, requested_by, alerts): the stored `notify` and alert channels
RecipientsListener = Callable[[str, "Mapping | None", "str | None", "list[Mapping] | None"], None]

_functions_source: list[FunctionsSource] = []
_purge_steps: list[PurgeStep] = []
_recipients_listeners: list[RecipientsListener] = []


def register_functions_source(source: FunctionsSource) -> None:
    """`source(project_id)`: the names of the functions of the project's debugtalk.py (None:
    it has none). One source: a second registration replaces the first."""
    _functions_source[:] = [source]


def project_functions(project_id: str) -> frozenset[str] | None:
    """The registered source's answer; None (no debugtalk.py) when no feature registered one."""
    return _functions_source[0](project_id) if _functions_source else None


def on_project_purged(step: PurgeStep) -> None:
    """`step(project_id)` runs in the cleanup of a deleted project, after its modules and before
    its members' rows and its item (so a crash leaves the project marked, and the job retries:
    the step must be idempotent). Registering the same step again changes nothing."""
    if step not in _purge_steps:
        _purge_steps.append(step)


def purge_steps() -> list[PurgeStep]:
    return list(_purge_steps)


def on_recipients_stored(listener: RecipientsListener) -> None:
    """`listener(project_id, notify, requested_by, alerts)` after a project's `notify` or
    `alerts` were stored (created or changed). Registering the same listener again changes nothing."""
    if listener not in _recipients_listeners:
        _recipients_listeners.append(listener)


def recipients_stored(project_id: str, notify: Mapping | None, requested_by: str | None,
                      alerts: list[Mapping] | None) -> None:
    for listener in _recipients_listeners:
        listener(project_id, notify, requested_by, alerts)
