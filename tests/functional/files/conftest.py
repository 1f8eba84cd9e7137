"""Project files tests reuse the runs fixtures (a target API on loopback, the runs queue)
and the catalog's cleanup queue."""
from tests.functional.catalog.conftest import run_cleanup  # noqa: F401
from tests.functional.runs.conftest import alice, bob, clock, run_queue, runs_api_for, target  # noqa: F401
