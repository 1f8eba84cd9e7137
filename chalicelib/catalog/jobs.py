"""The catalog queue's worker (cascade deletes) and the reaper of stuck deletes: thin."""
from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.core.settings import load_settings

catalog_jobs = Blueprint(__name__)
# The queue name needs only the stage: load_settings() reads the environment, while
# get_settings() may fetch secrets (SSM) that importing the app (chalice package) must not need.
_QUEUE = load_settings().queue_name("catalog")


@catalog_jobs.on_sqs_message(queue=_QUEUE, batch_size=1)
def catalog_cleanup(event) -> None:
    from chalicelib.catalog.cleanup import run_job
    from chalicelib.core.jobs import process_records

    process_records(event, run_job)


@catalog_jobs.schedule(Rate(15, unit=Rate.MINUTES))
def catalog_reaper(event) -> None:
    from chalicelib.catalog.cleanup import reap
    from chalicelib.core.edge import edge

    reap(clock=edge().clock)
