"""Recipients tests reuse the runs suite's target API, users and queue helpers."""
from tests.functional.runs.conftest import (  # noqa: F401
    alice,
    bob,
    clock,
    run_queue,
    runs_api_for,
    target,
)
