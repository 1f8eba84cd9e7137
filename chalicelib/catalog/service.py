"""Temporary: the names runs/, schedules/ and imports/ still import from here, until the lead
points them at chalicelib/catalog/access.py. To be removed at merge, with this module:

- load_project (runs/service.py, runs/hooks.py, runs/github.py, schedules/service.py,
  imports/service.py, tests/functional/schedules/test_tasks.py), load_module (runs/service.py,
  imports/service.py), visible_to, checked_document (runs/service.py), load_testcase
  (runs/history.py), document_size (imports/service.py): access.py's, as they are.
- create_testcases, create_modules_with_testcases, replace_testcase (imports/service.py),
  testcases_in_module: access.py's, except that the first three take `clock` as a required
  keyword now (core/edge.py); here they still default to the edge's clock, as imports calls
  them without one.
"""
from __future__ import annotations

from chalicelib.catalog import access
from chalicelib.catalog.access import (  # noqa: F401 - re-exported for runs, schedules, imports
    checked_document,
    document_size,
    load_module,
    load_project,
    load_testcase,
    testcases_in_module,
    visible_to,
)
from chalicelib.core.clock import Clock
from chalicelib.core.edge import edge


def create_testcases(user: dict, module_id: str, items: list, *, clock: Clock | None = None) -> list[dict]:
    return access.create_testcases(user, module_id, items, clock=clock or edge().clock)


def create_modules_with_testcases(user: dict, project_id: str, groups: list, *,
                                  clock: Clock | None = None) -> list[dict]:
    return access.create_modules_with_testcases(user, project_id, groups, clock=clock or edge().clock)


def replace_testcase(user: dict, testcase_id: str, body: object, *, clock: Clock | None = None) -> dict:
    return access.replace_testcase(user, testcase_id, body, clock=clock or edge().clock)
