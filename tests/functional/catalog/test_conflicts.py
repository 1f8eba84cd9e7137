"""TransactionConflict (another transaction on the same item in flight, which DynamoDB cancels
and the emulator never does) is retried once within the call budget, then a 503."""
from __future__ import annotations

import json

import pytest

from tests.support import hook_dynamodb


class _Http:
    status_code = 400
    headers: dict = {}


@pytest.fixture
def conflicts(aws, monkeypatch):
    """conflicts["left"] = n: the next n TransactWriteItems are cancelled by a conflict."""
    state = {"left": 0, "seen": 0}

    def cancel(model, params, **_kwargs):
        if model.name != "TransactWriteItems" or state["left"] <= 0:
            return None
        state["left"] -= 1
        state["seen"] += 1
        items = json.loads(params["body"])["TransactItems"]
        reasons = [{"Code": "TransactionConflict", "Message": "conflict"}]
        reasons += [{"Code": "None"}] * (len(items) - 1)
        return _Http(), {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                         "CancellationReasons": reasons}

    unhook = hook_dynamodb(monkeypatch, cancel)
    yield state
    unhook()


def test_one_conflict_is_retried_and_counted_once(alice, ddb_calls, conflicts):  # record, then cancel
    project = alice.project("Shop")
    module = alice.module(project["id"])
    conflicts["left"] = 1
    ddb_calls.clear()
    case = alice.testcase(module["id"])
    assert conflicts["seen"] == 1
    assert len(ddb_calls) == 4  # auth, module, the cancelled write, the retry
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 1
    assert alice.get(f"/testcases/{case['id']}").status == 200


def test_conflicts_that_persist_are_a_503_with_retry_after(alice, conflicts):
    project = alice.project("Shop")
    module = alice.module(project["id"])
    conflicts["left"] = 2
    answer = alice.post(f"/modules/{module['id']}/testcases", {"testcase": {
        "config": {"name": "x"}, "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/"}}]}})
    assert answer.status == 503 and answer.error["code"] == "busy"
    assert answer.headers.get("Retry-After") == "1"
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 0
    assert alice.get(f"/modules/{module['id']}/testcases").body["items"] == []


def test_deleting_a_module_whose_count_moved_meanwhile_tries_once_more(alice, monkeypatch):
    """The count read before the write is stale: the write fails with the module as it is now
    (ALL_OLD) and the retry subtracts the right number from the project."""
    from chalicelib.catalog import modules
    from chalicelib.catalog.models import Module

    project = alice.project("Shop")
    module = alice.module(project["id"])
    for i in range(3):
        alice.testcase(module["id"], f"case {i}")
    real_get = modules.get_or_none

    def stale_get(model, key, *args, **kwargs):
        item = real_get(model, key, *args, **kwargs)
        if model is Module:
            item.testcase_count = 1  # as if read before two test cases came in
        return item

    monkeypatch.setattr(modules, "get_or_none", stale_get)
    assert alice.delete(f"/modules/{module['id']}").status == 204
    monkeypatch.undo()
    counts = alice.get(f"/projects/{project['id']}").body
    assert (counts["module_count"], counts["testcase_count"]) == (0, 0)
