"""Counts are exact at all times: every create/delete changes them in its own transaction.

The racing threads call the service functions the routes call: Chalice keeps one
`current_request` per app, so its in-process test client cannot serve concurrent requests
(Lambda never does; each container serves one at a time). The race that matters is at
DynamoDB, and these threads race there for real.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib.catalog import modules, testcases
from chalicelib.catalog.schemas import ModuleCreate, TestcaseBody
from chalicelib.core.clock import utcnow
from chalicelib.core.errors import HatError
from tests.functional.catalog.conftest import sample_doc


def status_of(action) -> int:
    try:
        action()
    except HatError as error:
        return error.status_code
    return 200


def _table_items(aws, table: str) -> list[dict]:
    # Test-side inspection only; no request path scans.
    return aws("dynamodb").scan(TableName=f"hat-dev-{table}", ConsistentRead=True)["Items"]


def test_100_racing_creates_and_deletes_leave_exact_counts(alice, aws):
    project = alice.project("race")
    module = alice.module(project["id"], "hot")
    doomed = [alice.testcase(module["id"], f"doomed {i}") for i in range(40)]
    barrier = threading.Barrier(8)

    def create(i: int) -> int:
        if i < 8:
            barrier.wait()
        body = TestcaseBody(testcase=sample_doc(f"new {i}"))
        return status_of(lambda: testcases.create_testcase(alice.user, module["id"], body, clock=utcnow))

    def delete(case: dict) -> int:
        return status_of(lambda: testcases.delete_testcase(alice.user, case["id"]))

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(60)))
        # the deletes race the creates above and each other (every doomed case deleted twice)
        deleted = list(pool.map(delete, doomed + doomed))
    assert created.count(200) == 60, created
    assert deleted.count(200) == 40 and deleted.count(404) == 40, deleted

    stored = [item for item in _table_items(aws, "testcases") if item["module_id"]["S"] == module["id"]]
    assert len(stored) == 60
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 60
    assert alice.get(f"/projects/{project['id']}").body["testcase_count"] == 60


def test_racing_module_creates_and_deletes_keep_the_project_count(alice):
    project = alice.project("modules race")
    first = [alice.module(project["id"], f"old {i}") for i in range(10)]

    def work(i: int) -> int:
        if i < 10:
            return status_of(lambda: modules.delete_module(alice.user, first[i]["id"], clock=utcnow))
        body = ModuleCreate(name=f"new {i}")
        return status_of(lambda: modules.create_module(alice.user, project["id"], body, clock=utcnow))

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(work, range(30)))
    assert statuses.count(200) == 30, statuses
    assert alice.get(f"/projects/{project['id']}").body["module_count"] == 20


def test_of_racing_creates_with_one_name_exactly_one_wins(alice):
    project = alice.project("names")
    module = alice.module(project["id"])
    barrier = threading.Barrier(8)

    def create(_: int) -> int:
        barrier.wait()
        body = TestcaseBody(name="Login", testcase=sample_doc())
        return status_of(lambda: testcases.create_testcase(alice.user, module["id"], body, clock=utcnow))

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(8)))
    assert sorted(statuses) == [200] + [409] * 7
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 1
