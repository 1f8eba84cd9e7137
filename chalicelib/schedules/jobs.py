"""The reconcile cron: repairs drift between task records and their schedules. Thin."""
from __future__ import annotations

from chalice import Blueprint, Rate

schedules_jobs = Blueprint(__name__)


@schedules_jobs.schedule(Rate(5, unit=Rate.MINUTES))
def tasks_reconcile(event) -> None:
    from chalicelib.schedules.reconcile import reconcile

    reconcile()
