"""Project files tests reuse the runs fixtures: a target API on loopback, the runs queue."""
from tests.functional.runs.conftest import alice, bob, clock, run_queue, runs_api_for, target  # noqa: F401
