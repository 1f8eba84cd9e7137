"""DynamoDB throttling (ProvisionedThroughputExceededException), injected on the wire.

A throttle that clears is absorbed by botocore's retries: the whole flow succeeds with
exact counts. A throttle that persists past the retries is a 503 with Retry-After, and
the tables hold either all of a change or none of it.
"""
from __future__ import annotations

from tests.functional.faults.conftest import table_items
from tests.functional.runs.conftest import case


def test_every_call_throttled_once_still_succeeds_with_exact_counts(alice, target, run_queue, ddb_faults):
    ddb_faults.every_other()
    world = alice.shop(target.url, cases=[case("a"), case("b"), case("c", status=500)])
    project, module = world["project"], world["module"]
    extra = alice.post(f"/projects/{project['id']}/modules", {"name": "second"})
    assert extra.status == 201, extra.body
    run = alice.post(f"/projects/{project['id']}/runs", {})
    assert run.status == 202, run.body
    run_queue()
    report = alice.get(f"/reports/{run.body['report_id']}")
    assert report.status == 200 and report.body["status"] == "failed", report.body
    assert (report.body["tests_run"], report.body["successes"], report.body["failures"]) == (3, 2, 1)
    dashboard = alice.get("/dashboard")
    assert dashboard.status == 200, dashboard.body
    assert ddb_faults.throttled, "the fault was never injected"
    throttled = len(ddb_faults.throttled)

    ddb_faults.off()
    assert alice.get(f"/projects/{project['id']}").body["module_count"] == 2
    assert alice.get(f"/projects/{project['id']}").body["testcase_count"] == 3
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 3
    today = dashboard.body["days"][-1]
    assert (today["pass"], today["fail"]) == (2, 1), today  # per test case
    assert (dashboard.body["projects"], dashboard.body["modules"], dashboard.body["testcases"]) == (1, 2, 3)
    assert throttled >= 20


def test_a_throttle_that_persists_is_a_503_with_retry_after_and_writes_nothing(alice, ddb_faults, aws):
    project = alice.project("shop")
    before = {name: table_items(aws, name) for name in ("projects", "modules", "catalog-names")}

    ddb_faults.always({"TransactWriteItems"})
    answer = alice.post(f"/projects/{project['id']}/modules", {"name": "orders"})
    assert answer.status == 503, answer.body
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert answer.error["code"] == "busy"
    answer = alice.post("/projects", {"name": "another"})
    assert answer.status == 503 and "Retry-After" in answer.headers, answer.body

    ddb_faults.off()
    after = {name: table_items(aws, name) for name in before}
    assert after == before, "a throttled change left part of itself behind"
    assert alice.get(f"/projects/{project['id']}").body["module_count"] == 0
    # And once the throttle clears, the same requests go through.
    assert alice.post(f"/projects/{project['id']}/modules", {"name": "orders"}).status == 201
    assert alice.get(f"/projects/{project['id']}").body["module_count"] == 1


def test_throttled_reads_past_the_retries_are_a_503_too(alice, ddb_faults):
    project = alice.project("shop")
    ddb_faults.always({"GetItem", "Query", "BatchGetItem"})
    answer = alice.get(f"/projects/{project['id']}")
    assert answer.status == 503 and "Retry-After" in answer.headers, answer.body
    answer = alice.get("/projects")
    assert answer.status == 503 and "Retry-After" in answer.headers, answer.body


def test_a_throttled_job_is_retried_through_the_queue_and_counts_once(alice, target, run_queue, ddb_faults):
    world = alice.shop(target.url, cases=[case("a"), case("b")])
    run = alice.post(f"/projects/{world['project']['id']}/runs", {})
    assert run.status == 202
    ddb_faults.always({"TransactWriteItems", "UpdateItem", "PutItem"})
    run_queue(max_rounds=1, must_empty=False)  # the worker's writes fail past the retries
    ddb_faults.off()
    run_queue()
    report = alice.get(f"/reports/{run.body['report_id']}").body
    assert report["status"] == "passed" and report["tests_run"] == 2, report
    today = alice.get("/dashboard").body["days"][-1]
    assert (today["pass"], today["fail"]) == (2, 0), today
