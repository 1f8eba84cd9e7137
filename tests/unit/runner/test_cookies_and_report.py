"""The per-testcase cookie jar and the JUnit rendering of a report."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from chalicelib.runner.cookies import CookieJar
from chalicelib.runner.report import to_junit_xml


def test_cookie_jar_scopes_by_host_domain_path_and_scheme() -> None:
    jar = CookieJar()
    set_ = jar.update("https://api.example.test/auth/login", [
        "sid=1; Path=/", "dom=2; Domain=.example.test; Path=/", "auth=3",
        "sec=4; Secure; Path=/", "foreign=5; Domain=other.test",
    ])
    assert set_ == {"sid": "1", "dom": "2", "auth": "3", "sec": "4"}
    assert dict(jar.pairs_for("https://api.example.test/x")) == {
        "sid": "1", "dom": "2", "sec": "4"}
    assert dict(jar.pairs_for("https://api.example.test/auth/me"))["auth"] == "3"
    assert dict(jar.pairs_for("http://api.example.test/x")) == {"sid": "1", "dom": "2"}
    assert dict(jar.pairs_for("https://www.example.test/")) == {"dom": "2"}
    assert jar.pairs_for("https://other.test/") == []


def test_cookie_jar_deletes_and_ignores_garbage() -> None:
    jar = CookieJar()
    jar.update("http://h.test/", ["a=1; Path=/", "b=2; Path=/", "c=3; Path=/"])
    jar.update("http://h.test/", [
        "a=; Path=/; Max-Age=0", "b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "\x00bad", "c=4; Path=/; Max-Age=bogus",
    ])
    assert dict(jar.pairs_for("http://h.test/")) == {"c": "4"}


REPORT = {
    "success": False, "tests_run": 3, "successes": 1, "failures": 2, "duration_ms": 1234.5,
    "testcases": [
        {"name": "ok", "success": True, "duration_ms": 10, "steps": [
            {"name": "a", "success": True, "elapsed_ms": 5, "validators": []},
            {"name": "ref", "success": True, "testcase": "shared", "elapsed_ms": 5,
             "validators": [], "steps": [
                 {"name": "inner", "success": True, "elapsed_ms": 5, "validators": []}]},
        ]},
        {"name": "bad <&> \x00", "success": False, "duration_ms": 20, "steps": [
            {"name": "check", "success": False, "elapsed_ms": 7, "validators": [
                {"check": "status_code", "comparator": "equal", "expected": 200,
                 "actual": 500, "result": "fail", "message": "expected 500 == 200"}]},
            {"name": "later", "success": False, "skipped": True, "elapsed_ms": 0,
             "validators": [], "error": "skipped: an earlier step failed",
             "error_type": "skipped"},
        ]},
        {"name": "down", "success": False, "duration_ms": 30, "steps": [
            {"name": "call", "success": False, "elapsed_ms": 30, "validators": [],
             "error": "no response within 1 s", "error_type": "timeout"}]},
        {"name": "invalid", "success": False, "error": "invalid testcase: config.name: required",
         "duration_ms": 0, "steps": []},
    ],
}


def test_junit_xml_counts_and_details() -> None:
    xml = to_junit_xml(REPORT)
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "6", "failures": "1", "errors": "2", "skipped": "1", "time": "1.234"}
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ok", "bad <&> \ufffd", "down", "invalid"]
    assert [c.get("name") for c in suites[0]] == ["a", "ref / inner"]
    failure = suites[1].find("testcase/failure")
    assert failure is not None and "actual 500" in failure.text
    assert suites[1].find("testcase[@name='later']/skipped") is not None
    error = suites[2].find("testcase/error")
    assert error.get("type") == "timeout" and error.text == "no response within 1 s"
    assert "config.name: required" in suites[3].find("testcase/error").text


def test_junit_xml_of_an_empty_run() -> None:
    root = ET.fromstring(to_junit_xml({"testcases": [], "duration_ms": 0}))
    assert root.get("tests") == "0" and list(root) == []
