"""Response time in reports (issue 20, item 3): a run whose test cases pass but answer slower
than their `degraded_response_ms` is `degraded` in the report, its list, the dashboard and the
history; it carries the run's timings; an alert channel listing `degraded` hears of it once,
one listing only `failure` does not, and a later `max_response_ms` breach fails the run.
The target's slow answer takes 0.3 s against limits of 100 ms (fast answers: a few ms)."""
from __future__ import annotations

import pytest

from tests.functional.notify.chat_stand_in import ChatStandIn


def _slow_case(**limits: float) -> dict:
    return {"config": {"name": "slow checkout", **limits},
            "teststeps": [{"name": "fast", "request": {"method": "GET", "url": "/status/200"}},
                          {"name": "slow", "request": {"method": "GET", "url": "/slow/0.3"},
                           "validate": [{"eq": ["status_code", 200]}, {"ge": ["elapsed_ms", 250]}]}]}


@pytest.fixture
def chat():
    stand_in = ChatStandIn().start()
    yield stand_in
    stand_in.stop()


def test_a_slow_pass_is_degraded_everywhere_and_alerts_its_channel(alice, target, run_queue, chat):
    shop = alice.shop(target.url, [_slow_case(degraded_response_ms=100)])
    pid = shop["project"]["id"]
    saved = alice.patch(f"/projects/{pid}", {"alerts": [
        {"id": "slow", "type": "slack", "target": f"{chat.url}/slack", "when": ["degraded"]},
        {"id": "broken", "type": "wecom", "target": f"{chat.url}/wecom?key=k", "when": ["failure"]}]})
    assert saved.status == 200, saved.body
    report_id = alice.post(f"/projects/{pid}/runs").body["report_id"]
    run_queue()

    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "degraded" and report["successes"] == 1, report
    timings = report["timings"]
    assert set(timings) == {"p50_ms", "p95_ms", "max_ms"} and timings["max_ms"] >= 250 > timings["p50_ms"]
    steps = report["testcases"][0]["steps"]
    assert [s.get("degraded", False) for s in steps] == [False, True]
    assert all(s["elapsed_ms"] > 0 for s in steps)  # per-step timings
    assert report["testcases"][0]["degraded"] is True
    listed = alice.get(f"/projects/{pid}/reports").body["items"]
    assert listed[0]["status"] == "degraded" and listed[0]["timings"] == timings
    today = alice.get("/dashboard").body["days"][-1]
    assert (today["pass"], today["fail"], today["degraded"]) == (1, 0, 1)
    history = alice.get(f"/testcases/{shop['testcases'][0]['id']}/history").body
    assert history["items"][0]["status"] == "degraded" and history["failing_since"] is None

    outcomes = {a["alert_id"]: a["outcome"] for a in report["alerts"]}
    assert outcomes == {"slow": "delivered"}, report["alerts"]
    assert [r.provider for r in chat.received] == ["slack"]
    assert "DEGRADED" in chat.received[0].json["text"].upper()


def test_max_response_ms_fails_the_run(alice, target, run_queue):
    shop = alice.shop(target.url, [_slow_case(max_response_ms=100, degraded_response_ms=50)])
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed", report
    slow = report["testcases"][0]["steps"][1]
    assert not slow["success"] and not slow.get("degraded")
    assert slow["validators"][-1]["check"] == "elapsed_ms" and slow["validators"][-1]["result"] == "fail"


def test_the_debug_route_says_degraded(alice, target):
    shop = alice.shop(target.url, [])
    answer = alice.post("/testcases/debug", {"project_id": shop["project"]["id"],
                                             "testcase": _slow_case(degraded_response_ms=100)})
    assert answer.status == 200 and answer.body["status"] == "degraded", answer.body
    assert answer.body["timings"]["max_ms"] >= 250
