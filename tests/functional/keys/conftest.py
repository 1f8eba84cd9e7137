"""Keys tests use the runs suite's fixtures: users with RunsApi clients, a target API, the runs queue."""
from tests.functional.runs.conftest import alice, bob, run_queue, runs_api_for, target  # noqa: F401
