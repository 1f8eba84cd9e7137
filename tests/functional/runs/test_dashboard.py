"""Dashboard numbers against hand-computed ones, across a day boundary and time zones; its
cost does not grow with the number of reports."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.runs import queueing, reading, worker
from tests.support import FakeClock as Clock

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai, 13:45 in Kathmandu


def _finish(project_id: str, at: datetime, tests_run: int, successes: int) -> str:
    """A real run through the worker, whose runner reports these counts, finishing at `at`."""
    clock = Clock(at)
    report_id = queueing.start_run(project_id, module_ids=None, environment=None, trigger="manual",
                                  clock=clock)["report_id"]

    def runner(documents, **options):
        cases = [{"name": f"c{i}", "success": i < successes, "steps": []} for i in range(tests_run)]
        return {"tests_run": tests_run, "successes": successes, "failures": tests_run - successes,
                "duration_ms": 1, "testcases": cases}

    status = worker.handle_run(report_id, runner=runner, clock=clock, budget_seconds=None)
    assert status in ("passed", "failed")
    return report_id


def _days(board: dict) -> dict:
    return {d["date"]: (d["pass"], d["fail"], d["percent"]) for d in board["days"]
            if d["pass"] or d["fail"]}


def test_days_in_shanghai_and_utc_match_hand_computed_numbers(alice, bob, target):
    mine = alice.shop(target.url)["project"]["id"]
    theirs = bob.shop(target.url)["project"]["id"]
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731
    _finish(mine, at("2026-11-21T15:59:59"), 3, 2)   # Shanghai Nov 21 23:59:59 | UTC Nov 21
    _finish(mine, at("2026-11-21T16:00:00"), 4, 4)   # Shanghai Nov 22 00:00:00 | UTC Nov 21
    _finish(mine, at("2026-11-22T07:00:00"), 2, 0)   # Shanghai Nov 22           | UTC Nov 22
    _finish(mine, at("2026-11-10T16:00:00"), 5, 5)   # Shanghai Nov 11 (first)   | UTC Nov 10 (out)
    _finish(mine, at("2026-11-10T15:59:59"), 1, 1)   # Shanghai Nov 10 (out)     | UTC Nov 10 (out)
    _finish(theirs, at("2026-11-22T07:00:00"), 9, 9)  # bob's: never in alice's numbers

    now = Clock(NOW)
    shanghai = reading.dashboard(alice.user, "Asia/Shanghai", clock=now)
    assert [d["date"] for d in shanghai["days"]][0] == "2026-11-11"
    assert [d["date"] for d in shanghai["days"]][-1] == "2026-11-22" and len(shanghai["days"]) == 12
    assert _days(shanghai) == {"2026-11-11": (5, 0, 100.0), "2026-11-21": (2, 1, 66.67),
                               "2026-11-22": (4, 2, 66.67)}
    utc = reading.dashboard(alice.user, "UTC", clock=now)
    assert _days(utc) == {"2026-11-21": (6, 1, 85.71), "2026-11-22": (0, 2, 0.0)}
    assert utc["days"][0] == {"date": "2026-11-11", "pass": 0, "fail": 0, "percent": 0.0}
    # every report counts in exactly one day: the window's totals are the in-window reports
    assert sum(p + f for p, f, _ in _days(shanghai).values()) == 3 + 4 + 2 + 5
    # UTC+05:45: the 16:00Z reports are 21:45 local, the Nov 10 ones fall before the window
    kathmandu = reading.dashboard(alice.user, "Asia/Kathmandu", clock=now)
    assert _days(kathmandu) == {"2026-11-21": (6, 1, 85.71), "2026-11-22": (0, 2, 0.0)}
    assert (shanghai["projects"], shanghai["modules"], shanghai["testcases"]) == (1, 1, 1)


def test_the_route_uses_the_users_time_zone_or_tz_and_today_is_last(alice, target, run_queue):
    shop = alice.shop(target.url)
    alice.post(f"/projects/{shop['project']['id']}/runs")
    run_queue()
    board = alice.get("/dashboard").body
    today = datetime.now(UTC).date().isoformat()
    assert board["timezone"] == "UTC" and board["days"][-1]["date"] == today
    assert board["days"][-1] == {"date": today, "pass": 1, "fail": 0, "percent": 100.0}
    assert (board["projects"], board["modules"], board["testcases"]) == (1, 1, 1)
    assert alice.get("/dashboard?tz=Pacific/Kiritimati").body["timezone"] == "Pacific/Kiritimati"
    bad = alice.get("/dashboard?tz=Mars/Olympus")
    assert bad.status == 400 and "tz" in bad.error["fields"]

    # the user's own setting: every session sees it at once, ?tz= still wins for one call
    from chalicelib.accounts.sessions import create_session
    from chalicelib.core.clock import utcnow

    other_token, _ = create_session(alice.user, clock=utcnow)
    changed = alice.patch("/auth/me", {"timezone": "Asia/Shanghai"})
    assert changed.status == 200 and changed.body["timezone"] == "Asia/Shanghai"
    assert alice.get("/dashboard").body["timezone"] == "Asia/Shanghai"
    other = alice.client.http.get("/dashboard", headers={"Authorization": f"Bearer {other_token}"})
    assert json.loads(other.body)["timezone"] == "Asia/Shanghai"
    assert alice.get("/dashboard?tz=UTC").body["timezone"] == "UTC"
    bad = alice.patch("/auth/me", {"timezone": "Mars/Olympus"})
    assert bad.status == 400 and "timezone" in bad.error["fields"]
    assert alice.patch("/auth/me", {"password_hash": "x"}).status == 400  # nothing else is settable
    assert alice.get("/auth/me").body["timezone"] == "Asia/Shanghai"


def test_dashboard_costs_the_same_with_10_or_150_reports(alice, target, ddb_calls, request):
    from chalicelib.runs import store
    from chalicelib.runs.models import Report

    project_id = alice.shop(target.url)["project"]["id"]
    clock = Clock(NOW)
    from chalicelib.catalog.models import Project
    from chalicelib.core.db import get_or_none

    project = get_or_none(Project, project_id)

    def add(n: int) -> None:
        for i in range(n):
            report = queueing.new_report(project, trigger="manual", name="x", environment=None,
                                         module_ids=None, testcase_ids=None, task_id=None, notify=None,
                                         callback_url=None, started_by=None, clock=clock)
            report.status = "running"
            report.save()
            store.finish(report, "passed", finished_at=clock.advance(minutes=7), tests_run=2,
                         successes=2 - i % 2, failures=i % 2, duration_ms=1)
        assert Report.count() >= n

    costs = {}
    for total, more in ((10, 10), (150, 140)):
        add(more)
        ddb_calls.clear()
        board = alice.get("/dashboard")
        assert board.status == 200
        costs[total] = list(ddb_calls)
        assert sum(d["pass"] + d["fail"] for d in board.body["days"]) <= 2 * total
    print(f"\nGET /dashboard DynamoDB calls: 10 reports {costs[10]}, 150 reports {costs[150]}")
    request.node.user_properties.append(("dashboard_calls", str(costs)))
    assert costs[10] == costs[150] == ["GetItem", "Query", "BatchGetItem", "BatchGetItem"]
