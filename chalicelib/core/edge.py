"""The collaborators made once at the edge and handed to the services: the clock and the runner
(what runs test cases: the engine's `run_testcases_sync`, imported on first use).

The contract:
- A service never makes or defaults a collaborator: it takes each as a required keyword
  (`def create_project(user, body, *, clock: Clock)`), and hands it on to what it calls.
- The edge (a route, a job or cron handler, the auth middleware's resolver) reads `edge()` and
  passes its parts in: `service.create_project(user, body, clock=edge().clock)`. Read it per
  call, not at import, so a replaced edge is seen by the next request.
- `edge()` is built lazily, once per process, with the real parts (`utcnow`, the engine).
- What belongs to one invocation is not here: the run's time budget (from the Lambda context)
  is an argument the runs job handler computes and passes (runs/jobs.py).
- A collaborator whose type lives above core (notify's Sender) is made by that feature's own
  handler, from these parts, and passed in the same way.
- Tests replace it as a whole, never a part: `with use_edge(Edge(clock=fake)):` (a fixture
  wraps its `yield` in it) puts the previous edge back on leaving, whatever happened. Code the
  test calls directly is handed its collaborators by the test (`clock=fake`). Nothing patches
  defaults.

Imports only the standard library and core.clock: reading it costs nothing at `import app`
(the runner's engine is imported by the first run).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib.core.clock import Clock, utcnow

# What runs test cases: `runner(documents, **options) -> report` (the options of
# chalicelib.runner.engine's run_testcases_sync: concurrency, outbound_allow, deadline_seconds...).
Runner = Callable[..., dict[str, Any]]


def run_testcases(documents: list[Any], **options: Any) -> dict[str, Any]:
    """The real runner: the engine, imported on the first run (not at `import app`)."""
    from chalicelib.runner.engine import run_testcases_sync

    return run_testcases_sync(documents, **options)


@dataclass(frozen=True)
class Edge:
    """What the edge hands to services. A field added here gets a real default."""

    clock: Clock = utcnow
    runner: Runner = run_testcases


_current: list[Edge] = []


def edge() -> Edge:
    """The process's collaborators (made on first use)."""
    if not _current:
        _current.append(Edge())
    return _current[0]


@contextmanager
def use_edge(replacement: Edge) -> Iterator[Edge]:
    """For tests: `replacement` is the edge inside the block; the previous one after it."""
    previous = list(_current)
    _current[:] = [replacement]
    try:
        yield replacement
    finally:
        _current[:] = previous
