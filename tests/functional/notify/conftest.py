"""Recipients tests reuse the runs suite's target API, users and queue helpers."""
from tests.functional.runs.conftest import alice, bob, run_queue, runs_api_for, target  # noqa: F401
