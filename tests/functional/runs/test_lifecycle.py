"""A run's whole life through the emulator's runs queue: 202, queued, running, passed/failed,
summary in DynamoDB, detail gzip JSON in S3, JUnit, list newest first."""
from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET

from tests.functional.runs.conftest import case


def test_a_project_run_goes_queued_then_passed_with_its_detail_in_s3(alice, target, run_queue, aws):
    shop = alice.shop(target.url, [case("first"), case("second", steps=2)])
    project_id = shop["project"]["id"]
    answer = alice.post(f"/projects/{project_id}/runs")
    assert answer.status == 202, answer.body
    report_id = answer.body["report_id"]
    assert answer.body == {"report_id": report_id, "status": "queued"}
    queued = alice.get(f"/reports/{report_id}").body
    assert (queued["status"], queued["trigger"], queued["testcases"]) == ("queued", "manual", [])

    assert run_queue() >= 1
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "passed", report
    assert (report["tests_run"], report["successes"], report["failures"]) == (2, 2, 0)
    assert report["started_at"] and report["finished_at"] and report["duration_ms"] >= 0
    assert [t["name"] for t in report["testcases"]] == ["first", "second"]
    step = report["testcases"][1]["steps"][1]
    assert step["status_code"] == 200 and step["success"] is True and step["validators"]

    stored = aws("s3").get_object(Bucket="hat-dev-reports-123456789012", Key=f"details/{report_id}.json.gz")
    assert stored["ContentEncoding"] == "gzip"
    detail = json.loads(gzip.decompress(stored["Body"].read()))
    assert detail["tests_run"] == 2 and len(detail["testcases"]) == 2

    junit = alice.client.http.get(f"/reports/{report_id}/junit", headers=alice.who.headers)
    assert junit.status_code == 200
    root = ET.fromstring(junit.body)
    assert [suite.get("name") for suite in root.iter("testsuite")] == ["first", "second"]
    assert [(c.get("classname"), c.get("name")) for c in root.iter("testcase")] == [
        ("first", "first step 0"), ("second", "second step 0"), ("second", "second step 1")]
    assert root.find(".//failure") is None


def test_a_failing_validator_gives_failed_with_expected_and_actual(alice, target, run_queue):
    shop = alice.shop(target.url, [case("good"), case("bad", status=500, expect=200)])
    report_id = alice.post(f"/modules/{shop['module']['id']}/runs", {}).body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed"
    assert (report["tests_run"], report["successes"], report["failures"]) == (2, 1, 1)
    bad = next(t for t in report["testcases"] if t["name"] == "bad")
    check = bad["steps"][0]["validators"][0]
    assert (check["expected"], check["actual"]) == (200, 500)
    junit = alice.client.http.get(f"/reports/{report_id}/junit", headers=alice.who.headers)
    assert ET.fromstring(junit.body).find(".//failure") is not None


def test_one_testcase_run_and_the_list_newest_first_paginated(alice, target, run_queue):
    shop = alice.shop(target.url, [case("a"), case("b")])
    testcase_id = shop["testcases"][1]["id"]
    ids = [alice.post(f"/testcases/{testcase_id}/runs").body["report_id"] for _ in range(3)]
    run_queue()
    first = alice.get(f"/projects/{shop['project']['id']}/reports?limit=2").body
    assert [r["id"] for r in first["items"]] == ids[::-1][:2]
    rest = alice.get(f"/projects/{shop['project']['id']}/reports?limit=2&cursor={first['next_cursor']}").body
    assert [r["id"] for r in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    assert all(r["tests_run"] == 1 and r["status"] == "passed" for r in first["items"] + rest["items"])
    assert alice.get(f"/reports/{ids[0]}").body["name"] == "b"


def test_environments_choose_the_base_url_and_an_unknown_one_is_a_400(alice, target, run_queue):
    shop = alice.shop(target.url)
    project_id = shop["project"]["id"]
    bad = alice.post(f"/projects/{project_id}/runs", {"environment": "staging"})
    assert bad.status == 400 and "environment" in bad.error["fields"]
    unknown_field = alice.post(f"/projects/{project_id}/runs", {"enviroment": "default"})
    assert unknown_field.status == 400


def test_a_run_that_cannot_happen_ends_in_error_with_the_reason(alice, target, run_queue):
    project = alice.project("empty", environments={"default": {"base_url": target.url, "variables": {}}})
    report_id = alice.post(f"/projects/{project['id']}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "error" and "no test cases" in report["error"]


def test_outbound_guard_applies_without_the_allow_list(alice, target, run_queue, monkeypatch):
    from chalicelib.core.settings import reset_settings

    shop = alice.shop(target.url)
    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "")
    reset_settings()
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed"
    assert report["testcases"][0]["steps"][0].get("error_type") == "outbound_refused", report


def test_strangers_see_404_and_members_see_reports(alice, bob, target, run_queue, runs_api_for):
    shop = alice.shop(target.url)
    project_id = shop["project"]["id"]
    report_id = alice.post(f"/projects/{project_id}/runs").body["report_id"]
    hidden = bob.get(f"/reports/{report_id}")
    assert hidden.status == 404 and hidden.body["error"]["code"] == "report_not_found"
    assert bob.post(f"/projects/{project_id}/runs").status == 404
    assert bob.get(f"/projects/{project_id}/reports").status == 404
    assert bob.get(f"/reports/{report_id}/junit").status == 404
    assert alice.get("/reports/not-an-id").status == 404
    alice.post(f"/projects/{project_id}/members", {"username": "bobby"})
    assert bob.get(f"/reports/{report_id}").status == 200
    assert alice.get(f"/reports/{report_id}/junit").status == 409  # not finished yet


def test_debug_runs_inline_and_stores_nothing(alice, target, aws):
    shop = alice.shop(target.url)
    answer = alice.post("/testcases/debug", {"project_id": shop["project"]["id"],
                                              "testcase": case("inline", status=404, expect=404)})
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "passed" and answer.body["testcases"][0]["name"] == "inline"
    assert alice.get(f"/projects/{shop['project']['id']}/reports").body["items"] == []
    bad = alice.post("/testcases/debug", {"project_id": shop["project"]["id"],
                                          "testcase": {"config": {}, "teststeps": []}})
    assert bad.status == 400


def test_the_run_deadline_fits_in_what_the_invocation_has_left(alice, target):
    from chalicelib.core.clock import utcnow
    from chalicelib.runs import queueing, worker

    shop = alice.shop(target.url)
    seen = []

    def runner(documents, **options):
        seen.append(options["deadline_seconds"])
        return {"tests_run": 1, "successes": 1, "failures": 0, "duration_ms": 1,
                "testcases": [{"name": "ok", "success": True, "steps": []}]}

    report_id = queueing.start_run(shop["project"]["id"], module_ids=None, environment=None,
                                  trigger="manual", clock=utcnow)["report_id"]
    # e.g. a 60 s function timeout, half gone
    assert worker.handle_run(report_id, runner=runner, clock=utcnow, budget_seconds=30.0) == "passed"
    assert seen == [30.0]
