"""History (issue 20, item 6): per test case and per task, kept by writes when a report
finishes; "failing since", the flaky flag (same version only), nothing twice on redelivery,
and the history routes within the 4-call budget."""
from __future__ import annotations

from chalicelib.core.clock import utcnow
from tests.functional.runs.conftest import case


def test_a_testcase_and_a_task_keep_their_last_outcomes_failing_since_and_flaky(alice, target, run_queue,
                                                                              ddb_calls):
    shop = alice.shop(target.url, [case("login"), case("checkout", status=500)])
    pid = shop["project"]["id"]
    good, bad = shop["testcases"][0]["id"], shop["testcases"][1]["id"]
    task = alice.post("/tasks", {"name": "nightly", "project_id": pid, "crontab": "0 3 * * *"}).body
    reports = []
    for _ in range(3):
        reports.append(alice.post(f"/tasks/{task['id']}/runs").body["report_id"])
        run_queue()
    failed = alice.get(f"/testcases/{bad}/history").body
    assert [i["report_id"] for i in failed["items"]] == reports[::-1]
    assert {i["status"] for i in failed["items"]} == {"failed"} and failed["flaky"] is False
    first_finish = alice.get(f"/reports/{reports[0]}").body["finished_at"]
    assert failed["failing_since"] == first_finish
    passing = alice.get(f"/testcases/{good}/history").body
    assert {i["status"] for i in passing["items"]} == {"passed"} and passing["failing_since"] is None
    assert all(i["duration_ms"] >= 0 for i in passing["items"])
    tasks = alice.get(f"/tasks/{task['id']}/history").body
    assert [i["status"] for i in tasks["items"]] == ["failed"] * 3

    # A redelivered finish adds nothing.
    from chalicelib.runs import followups
    from chalicelib.runs.models import Report

    followups.after_finish(Report.get(reports[-1]), clock=utcnow)
    assert len(alice.get(f"/testcases/{bad}/history").body["items"]) == 3

    # Fixed: a new version; its pass ends the streak and is not "flaky" (a change, not flakiness).
    fixed = alice.put(f"/testcases/{bad}", {"testcase": case("checkout")})
    assert fixed.status == 200
    reports.append(alice.post(f"/tasks/{task['id']}/runs").body["report_id"])
    run_queue()
    after = alice.get(f"/testcases/{bad}/history").body
    assert after["items"][0]["status"] == "passed" and after["failing_since"] is None
    assert after["flaky"] is False

    # The same version passing and failing is flaky: the target flips under an unchanged case.
    flappy = alice.shop(target.url, [{"config": {"name": "flappy"}, "teststeps": [{
        "name": "hook", "request": {"method": "POST", "url": "/hook", "json": {}},
        "validate": [{"eq": ["status_code", 200]}]}]}], name="flappy")
    flappy_id = flappy["testcases"][0]["id"]
    for answer in (200, 500, 200):
        target.hook_status[0] = answer
        alice.post(f"/testcases/{flappy_id}/runs")
        run_queue()
    seen = alice.get(f"/testcases/{flappy_id}/history").body
    assert [i["status"] for i in seen["items"]] == ["passed", "failed", "passed"] and seen["flaky"] is True

    ddb_calls.clear()
    assert alice.get(f"/testcases/{good}/history").status == 200
    testcase_calls = list(ddb_calls)
    ddb_calls.clear()
    assert alice.get(f"/tasks/{task['id']}/history").status == 200
    assert len(testcase_calls) <= 4 and len(ddb_calls) <= 4, (testcase_calls, ddb_calls)
    assert "Scan" not in testcase_calls + ddb_calls
    assert alice.get(f"/testcases/{'0' * 32}/history").status == 404
    assert alice.get(f"/tasks/{'0' * 32}/history").status == 404


def test_flaky_means_both_outcomes_of_one_version():
    from chalicelib.runs.history import is_flaky

    def entry(status: str, version: str = "v1") -> dict:
        return {"status": status, "version": version}

    assert is_flaky([entry("passed"), entry("failed"), entry("passed")])
    assert not is_flaky([entry("passed"), entry("failed", "v0"), entry("failed", "v0")])
    assert not is_flaky([entry("failed")] * 3) and not is_flaky([])
    assert not is_flaky([entry("passed")] * 10 + [entry("failed")])  # outside the last 10


def test_versions_saved_within_one_second_are_told_apart():
    """A fix saved in the same second as the run before it is another version (not flaky)."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from chalicelib.runs.history import tag_results

    first = SimpleNamespace(id="t1", updated_at=datetime(2026, 12, 1, 8, 0, 0, 100, tzinfo=UTC))
    fixed = SimpleNamespace(id="t1", updated_at=datetime(2026, 12, 1, 8, 0, 0, 900, tzinfo=UTC))
    before, after = {"testcases": [{}]}, {"testcases": [{}]}
    tag_results(before, [first])
    tag_results(after, [fixed])
    assert before["testcases"][0]["testcase_version"] != after["testcases"][0]["testcase_version"]



def test_the_task_list_carries_each_tasks_history_in_one_more_call(alice, bob, target, run_queue, ddb_calls):
    """?include=history: the list page's sparklines without one request per task."""
    shop = alice.shop(target.url, [case("checkout", status=500)])
    pid = shop["project"]["id"]
    healthy = alice.module(pid, "healthy")
    assert alice.post(f"/modules/{healthy['id']}/testcases", {"testcase": case("login")}).status == 201
    failing = alice.post("/tasks", {"name": "failing", "project_id": pid, "crontab": "0 3 * * *",
                                    "module_ids": [shop["module"]["id"]]}).body
    passing = alice.post("/tasks", {"name": "passing", "project_id": pid, "crontab": "0 4 * * *",
                                    "module_ids": [healthy["id"]]}).body
    alice.post("/tasks", {"name": "idle", "project_id": pid, "crontab": "0 5 * * *"})
    reports = {}
    for task in (failing, passing):
        reports[task["name"]] = alice.post(f"/tasks/{task['id']}/runs").body["report_id"]
        run_queue()

    ddb_calls.clear()
    plain = alice.get(f"/tasks?project_id={pid}").body
    plain_calls = len(ddb_calls)
    assert all("history" not in item for item in plain["items"])
    ddb_calls.clear()
    listed = alice.get(f"/tasks?project_id={pid}&include=history")
    assert listed.status == 200, listed.body
    assert len(ddb_calls) == plain_calls + 1 and ddb_calls[-1] == "BatchGetItem", ddb_calls
    by_name = {item["name"]: item for item in listed.body["items"]}
    assert set(by_name) == {"failing", "passing", "idle"}
    for task in (failing, passing):
        alone = alice.get(f"/tasks/{task['id']}/history").body
        assert by_name[task["name"]]["history"] == alone
        assert [i["report_id"] for i in alone["items"]] == [reports[task["name"]]]
    assert by_name["failing"]["history"]["items"][0]["status"] == "failed"
    assert by_name["failing"]["history"]["failing_since"] is not None
    assert by_name["passing"]["history"]["items"][0]["status"] == "passed"
    assert by_name["idle"]["history"] == {"items": [], "flaky": False, "failing_since": None}

    across = alice.get("/tasks?include=history").body  # without ?project_id= too
    assert {item["name"]: item["history"] for item in across["items"]} == \
        {name: item["history"] for name, item in by_name.items()}

    wrong = alice.get(f"/tasks?project_id={pid}&include=reports")
    assert wrong.status == 400 and "include" in wrong.error["fields"]
    assert bob.get("/tasks?include=history").body["items"] == []
    assert bob.get(f"/tasks?project_id={pid}&include=history").status == 404
