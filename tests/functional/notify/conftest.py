"""Recipients tests reuse the runs suite's target API, users and queue helpers."""
from tests.functional.runs.conftest import alice, bob, runs_api_for, target  # noqa: F401
