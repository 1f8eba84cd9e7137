"""One bad testcase fails alone (issue 14, items 5 and 6): a header that renders to CRLF, an
absurd now() time zone or a backtracking regex fail their own step; the other testcases of
the run still run and count, and no error text shows the worker's paths."""
from __future__ import annotations

import json

from tests.functional.runs.conftest import case


def _with_step(name: str, **step: object) -> dict:
    document = case(name)
    document["teststeps"][0].update(step)
    return document


def _bad_cases() -> list[dict]:
    crlf = _with_step("crlf", variables={"h": "x\r\nX-Injected: 1"})
    crlf["teststeps"][0]["request"]["headers"] = {"X-Trace": "$h"}
    zone = case("zone")
    zone["config"]["variables"] = {"at": "${now(" + "Europe/" + "x" * 300 + ")}"}
    regex = case("regex")
    regex["teststeps"][0]["validate"].append({"regex_match": ["body.ok", "(a+)+b"]})
    return [crlf, zone, regex]


def test_a_run_with_bad_testcases_fails_them_alone(alice, target, run_queue):
    shop = alice.shop(target.url, [*_bad_cases(), case("good")])
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed", report
    assert (report["tests_run"], report["successes"], report["failures"]) == (4, 1, 3)
    by_name = {t["name"]: t for t in report["testcases"]}
    assert by_name["good"]["success"] is True
    crlf = by_name["crlf"]["steps"][0]
    assert crlf["error_type"] == "invalid_request" and "carriage return" in crlf["error"]
    assert "unknown time zone" in by_name["zone"]["error"]
    assert by_name["regex"]["steps"][0]["validators"][-1]["result"] == "fail"
    text = json.dumps(report)
    assert "site-packages" not in text and "zoneinfo/" not in text and "Errno" not in text
    assert target.hits.count("/status/200") == 2  # the good testcase and the regex one


def test_the_debug_route_reports_the_bad_step_and_save_refuses_a_static_crlf(alice, target):
    shop = alice.shop(target.url)
    for document in _bad_cases():
        answer = alice.post("/testcases/debug", {"project_id": shop["project"]["id"],
                                                 "testcase": document})
        assert answer.status == 200, answer.body
        assert answer.body["status"] == "failed"
    static = case("static")
    static["teststeps"][0]["request"]["headers"] = {"X-Trace": "x\r\nX-Injected: 1"}
    saved = alice.post(f"/modules/{shop['module']['id']}/testcases", {"testcase": static})
    assert saved.status == 400, saved.body
    assert any("carriage return" in message for message in saved.error["fields"].values())
