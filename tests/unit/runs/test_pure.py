"""Pure pieces of runs: day bounds (half-open, any offset), quarters, notify rules, texts."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.notify.messages import failing_steps
from chalicelib.runs.followups import should_notify
from chalicelib.runs.reading import day_bounds
from chalicelib.runs.store import period_of, quarter


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Asia/Kathmandu", "America/New_York",
                                  "Pacific/Chatham", "America/St_Johns", "Australia/Lord_Howe"])
def test_twelve_contiguous_days_ending_today_on_quarter_hours(zone):
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # days after the US DST change
    bounds = day_bounds(now, ZoneInfo(zone))
    assert len(bounds) == 13
    assert bounds[-2][0] == now.astimezone(ZoneInfo(zone)).date().isoformat()
    starts = [q for _, q in bounds]
    assert starts == sorted(starts) and len(set(starts)) == 13
    for (date, q) in bounds:
        local = datetime.fromtimestamp(q * 900, tz=UTC).astimezone(ZoneInfo(zone))
        assert local.date().isoformat() == date and (local.hour, local.minute) == (0, 0)


def test_a_report_at_local_midnight_belongs_to_the_new_day_only():
    zone = ZoneInfo("Asia/Shanghai")
    bounds = day_bounds(datetime(2026, 11, 22, 8, tzinfo=UTC), zone)
    midnight = quarter(datetime(2026, 11, 21, 16, 0, tzinfo=UTC))
    pairs = zip(bounds, bounds[1:], strict=False)
    days = [date for (date, start), (_n, end) in pairs if start <= midnight < end]
    assert days == ["2026-11-22"]
    assert period_of(midnight) == midnight // (16 * 96)


@pytest.mark.parametrize(("when", "status", "previous", "expected"), [
    ("never", "failed", None, False), ("never", "passed", "failed", False),
    ("failure", "failed", None, True), ("failure", "error", "passed", True),
    ("failure", "passed", "failed", True), ("failure", "passed", "error", True),
    ("failure", "passed", "passed", False), ("failure", "passed", None, False),
    ("always", "passed", "passed", True), ("always", "failed", "failed", True),
])
def test_who_hears_what(when, status, previous, expected):
    assert should_notify(when, status, previous) is expected


def test_failing_steps_name_expected_and_actual():
    detail = {"testcases": [
        {"name": "ok", "success": True, "steps": []},
        {"name": "login", "success": False, "steps": [
            {"name": "post", "success": False, "validators": [
                {"check": "status_code", "comparator": "equal", "expected": 200, "actual": 500,
                 "result": "fail"}]},
            {"name": "after", "success": False, "skipped": True}]}]}
    lines = failing_steps(detail)
    assert len(lines) == 1 and "login / post" in lines[0] and "expected 200, actual 500" in lines[0]
