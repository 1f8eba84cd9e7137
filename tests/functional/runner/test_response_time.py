"""Response time (issue 20, item 3) against a local server that answers slowly (/slow?s=): the
`elapsed_ms` and `elapsed.total_seconds` check paths with any comparator, the per-step and
per-testcase `max_response_ms` / `degraded_response_ms` shorthands, and the run's timings.
The slow answers take 0.3 s and the fast ones a few ms on loopback, so each limit (100 ms)
sits far from both: no assertion here depends on how busy the machine is."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.runner.engine import run_testcases_sync
from chalicelib.runner.schema import validate_testcase

from .server import LocalServer

LOOPBACK = ["127.0.0.0/8"]
SLOW = {"method": "GET", "url": "/slow", "params": {"s": "0.3"}}
FAST = {"method": "GET", "url": "/slow", "params": {"s": "0"}}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def _run(server: LocalServer, *cases: dict) -> dict:
    for case in cases:
        case["config"].setdefault("base_url", server.url)
    return run_testcases_sync(list(cases), outbound_allow=LOOPBACK)


def test_elapsed_paths_work_with_any_comparator(server: LocalServer) -> None:
    report = _run(server, {"config": {"name": "paths"}, "teststeps": [
        {"name": "slow", "request": SLOW,
         "validate": [{"gt": ["elapsed_ms", 250]}, {"ge": ["elapsed.total_seconds", 0.25]},
                      {"lt": ["elapsed.total_seconds", 100]}, {"type_match": ["elapsed_ms", "float"]}]},
        {"name": "too slow", "request": SLOW, "validate": [{"lt": ["elapsed_ms", 100]}]}]})
    first, second = report["testcases"][0]["steps"]
    assert first["success"], first["validators"]
    assert not second["success"]
    failed = second["validators"][0]
    assert failed["check"] == "elapsed_ms" and failed["result"] == "fail" and failed["actual"] >= 250


def test_max_response_ms_fails_a_slow_step_the_step_overriding_the_testcase(server: LocalServer) -> None:
    report = _run(
        server,
        {"config": {"name": "step limit"}, "teststeps": [
            {"name": "fast", "request": FAST, "max_response_ms": 5000},
            {"name": "slow", "request": SLOW, "max_response_ms": 100}]},
        {"config": {"name": "case limit", "max_response_ms": 100}, "teststeps": [
            {"name": "slow but allowed", "request": SLOW, "max_response_ms": 5000},
            {"name": "slow", "request": SLOW}]})
    step_limit, case_limit = report["testcases"]
    assert [s["success"] for s in step_limit["steps"]] == [True, False]
    entry = step_limit["steps"][1]["validators"][-1]
    assert entry["check"] == "elapsed_ms" and entry["comparator"] == "le" and entry["expected"] == 100
    assert entry["result"] == "fail" and "max_response_ms" in entry["message"]
    assert [s["success"] for s in case_limit["steps"]] == [True, False]
    assert report["failures"] == 2 and report["degraded"] == 0


def test_degraded_response_ms_passes_but_marks_the_step_and_testcase(server: LocalServer) -> None:
    report = _run(
        server,
        {"config": {"name": "degraded", "degraded_response_ms": 100}, "teststeps": [
            {"name": "fast", "request": FAST}, {"name": "slow", "request": SLOW}]},
        {"config": {"name": "fine"}, "teststeps": [{"name": "slow", "request": SLOW}]},
        {"config": {"name": "failed and slow"}, "teststeps": [
            {"name": "slow", "request": SLOW, "degraded_response_ms": 100,
             "validate": [{"eq": ["status_code", 201]}]}]})
    degraded, fine, failed = report["testcases"]
    assert degraded["success"] and degraded["degraded"] is True
    assert [s.get("degraded", False) for s in degraded["steps"]] == [False, True]
    assert fine["success"] and "degraded" not in fine
    assert not failed["success"] and "degraded" not in failed  # failed wins
    assert report["degraded"] == 1 and report["successes"] == 2


def test_a_referenced_testcase_passes_its_degraded_step_up(server: LocalServer) -> None:
    inner = {"config": {"name": "inner"}, "teststeps": [
        {"name": "slow", "request": SLOW, "degraded_response_ms": 100}]}
    outer = {"config": {"name": "outer", "base_url": server.url},
             "teststeps": [{"name": "call", "testcase": "inner"}]}
    report = run_testcases_sync([outer], outbound_allow=LOOPBACK, resolve_testcase=lambda ref: inner)
    case = report["testcases"][0]
    assert case["success"] and case["degraded"] and case["steps"][0]["degraded"]


def test_the_run_carries_p50_p95_and_max(server: LocalServer) -> None:
    report = _run(server, {"config": {"name": "t"}, "teststeps": [
        {"name": f"fast {i}", "request": FAST} for i in range(9)] + [{"name": "slow", "request": SLOW}]})
    timings = report["timings"]
    times = sorted(s["elapsed_ms"] for s in report["testcases"][0]["steps"])
    assert timings == {"p50_ms": times[4], "p95_ms": times[9], "max_ms": times[9]}
    assert timings["max_ms"] >= 300 > timings["p50_ms"]


@pytest.mark.parametrize(("where", "doc"), [
    ("max_response_ms", {"config": {"name": "x", "max_response_ms": 0}, "teststeps": [
        {"name": "s", "request": FAST}]}),
    ("max_response_ms", {"config": {"name": "x"}, "teststeps": [
        {"name": "s", "request": FAST, "max_response_ms": "fast"}]}),
    ("degraded_response_ms", {"config": {"name": "x"}, "teststeps": [
        {"name": "s", "testcase": "other", "degraded_response_ms": 10}]}),
    ("elapsed", {"config": {"name": "x"}, "teststeps": [
        {"name": "s", "request": FAST, "validate": [{"lt": ["elapsed.seconds", 1]}]}]}),
])
def test_bad_limits_and_paths_are_refused_when_saved(where: str, doc: dict) -> None:
    from chalicelib.runner.errors import TestcaseInvalid

    with pytest.raises(TestcaseInvalid) as raised:
        validate_testcase(doc)
    assert where in str(raised.value)
