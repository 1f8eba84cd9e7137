"""Scheduler changes that can be undone: the schedules move first, the record second.

`with compensating(gateway) as changes:` runs Scheduler calls through `changes`, each
remembering how to undo itself; if anything in the block raises (a Scheduler call
failing midway, or the DynamoDB transaction that records the change being cancelled),
the calls already made are undone in reverse order and the error goes on. So a failed
request leaves the schedules as they were and the record unchanged: the task never
claims a schedule that does not exist, and no schedule exists that its task does not
claim. A crash between the two steps is what the reconcile cron repairs.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chalicelib.schedules.gateway import Schedule, SchedulerGateway

logger = logging.getLogger("hat.schedules")


class Changes:
    def __init__(self, gateway: SchedulerGateway) -> None:
        self.gateway = gateway
        self._undo: list[tuple[str, Callable[[], object]]] = []

    def create(self, schedule: Schedule) -> None:
        self.gateway.create(schedule)
        self._undo.append((f"delete {schedule.name}", lambda: self.gateway.delete(schedule.name)))

    def update(self, schedule: Schedule, previous: Schedule) -> None:
        self.gateway.update(schedule)
        self._undo.append((f"restore {schedule.name}", lambda: self.gateway.put(previous)))

    def delete(self, previous: Schedule) -> None:
        self.gateway.delete(previous.name)
        self._undo.append((f"recreate {previous.name}", lambda: self.gateway.put(previous)))

    def rollback(self) -> list[str]:
        """Undo in reverse order; returns what could not be undone (reconcile's to repair)."""
        failed = []
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except Exception:
                logger.exception("could not %s; the reconcile cron will repair it", what)
                failed.append(what)
        return failed


@contextmanager
def compensating(gateway: SchedulerGateway) -> Iterator[Changes]:
    changes = Changes(gateway)
    try:
        yield changes
    except BaseException:
        changes.rollback()
        raise
