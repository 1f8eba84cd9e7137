"""Crontab -> EventBridge cron: a table of conversions, and 50 fire times against croniter."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from chalicelib.schedules.awscron import ExpressionError, parse_cron, split_expression
from chalicelib.schedules.crontab import CrontabError, to_aws_expressions

CONVERSIONS = [
    ("* * * * *", ["cron(* * * * ? *)"]),
    ("*/5 * * * *", ["cron(0/5 * * * ? *)"]),
    ("0 9 * * 1-5", ["cron(0 9 ? * 2-6 *)"]),
    ("0 9 * * MON-FRI", ["cron(0 9 ? * 2-6 *)"]),
    ("0 0 * * 0", ["cron(0 0 ? * 1 *)"]),
    ("0 0 * * 7", ["cron(0 0 ? * 1 *)"]),
    ("0 0 * * 5-7", ["cron(0 0 ? * 1,6-7 *)"]),
    ("30 2 1,15 * *", ["cron(30 2 1,15 * ? *)"]),
    ("0 12 * jan-mar sun", ["cron(0 12 ? 1-3 1 *)"]),
    ("0 0 13 * 5", ["cron(0 0 13 * ? *)", "cron(0 0 ? * 6 *)"]),
    ("15 10 */10 * */2", ["cron(15 10 1/10 * ? *)", "cron(15 10 ? * 1,3,5,7 *)"]),
    ("0 8-18/2 * * *", ["cron(0 8,10,12,14,16,18 * * ? *)"]),
    ("0 0 29 2 *", ["cron(0 0 29 2 ? *)"]),
    ("@daily", ["cron(0 0 * * ? *)"]),
    ("@hourly", ["cron(0 * * * ? *)"]),
    ("@weekly", ["cron(0 0 ? * 1 *)"]),
]


@pytest.mark.parametrize("crontab, expected", CONVERSIONS)
def test_conversion_table(crontab, expected):
    assert to_aws_expressions(crontab) == expected


@pytest.mark.parametrize("crontab, field, message", [
    ("0 24 * * *", "hour", "24 is out of range 0-23"),
    ("60 * * * *", "minute", "60 is out of range 0-59"),
    ("* * 0 * *", "day-of-month", "0 is out of range 1-31"),
    ("* * * 13 *", "month", "13 is out of range 1-12"),
    ("* * * * 8", "day-of-week", "8 is out of range 0-7"),
    ("* * * * FUN", "day-of-week", "'FUN' is not a number or a name"),
    ("*/0 * * * *", "minute", "step '0' must be a positive number"),
    ("5-1 * * * *", "minute", "range 5-1 runs backwards"),
    ("1,,2 * * * *", "minute", "empty item"),
    ("* * *", "crontab", "needs 5 fields"),
    ("* * * * * *", "crontab", "needs 5 fields"),
    ("", "crontab", "needs 5 fields"),
    ("@reboot", "crontab", "not supported"),
    ("0 0 31 2 *", "day-of-month", "never happens"),
    ("0 0 L * *", "day-of-month", "'L' is not a number"),
])
def test_bad_crontabs_name_the_field_and_why(crontab, field, message):
    with pytest.raises(CrontabError) as caught:
        to_aws_expressions(crontab)
    assert caught.value.field == field
    assert message in caught.value.message


def aws_fire_times(expressions, zone, start, count):
    times = set()
    for expression in expressions:
        kind, body = split_expression(expression)
        assert kind == "cron"
        times.update(parse_cron(body).next_fire_times(start, zone, count))
    return sorted(times)[:count]


def cron_fire_times(crontab, zone, start, count):
    """croniter walks wall-clock time; each wall time maps to UTC by the AWS DST rule:
    a time skipped by spring-forward does not fire, a repeated one fires once (the first)."""
    local_start = start.astimezone(zone).replace(tzinfo=None)
    walker = croniter(crontab, local_start)
    times = []
    while len(times) < count:
        naive = walker.get_next(datetime)
        if naive.year > 2199:  # AWS cron's last year
            break
        aware = naive.replace(tzinfo=zone, fold=0)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            continue  # does not exist on this day
        moment = aware.astimezone(UTC)
        if moment > start:
            times.append(moment)
    return times


COMPARED = [
    "*/7 * * * *", "30 2 * * *", "0 1 * * SUN", "15 1,2,3 * * *", "0 0 13 * 5", "0 12 29 2 *",
    "0 9 1-7 * 1", "45 23 31 * *", "0 0 * * 1-5", "*/20 2 8-14 3 0", "0 */6 * * 6,0", "59 23 28-31 * *",
]
ZONES = ["UTC", "America/New_York", "Asia/Shanghai", "Europe/London", "Australia/Lord_Howe"]
STARTS = [datetime(2026, 3, 7, 12, 0, tzinfo=UTC),   # US spring-forward ahead
          datetime(2026, 10, 24, 0, 0, tzinfo=UTC),  # EU/US fall-back ahead
          datetime(2027, 2, 20, 0, 0, tzinfo=UTC)]   # 2028 is a leap year, later


@pytest.mark.parametrize("crontab", COMPARED)
@pytest.mark.parametrize("zone_name", ZONES)
def test_next_50_fire_times_match_cron(crontab, zone_name):
    zone = ZoneInfo(zone_name)
    expressions = to_aws_expressions(crontab)
    for start in STARTS:
        assert aws_fire_times(expressions, zone, start, 50) == cron_fire_times(crontab, zone, start, 50)


def test_leap_day_fires_only_in_leap_years():
    times = aws_fire_times(to_aws_expressions("0 12 29 2 *"), ZoneInfo("UTC"),
                           datetime(2026, 1, 1, tzinfo=UTC), 2)
    assert [t.year for t in times] == [2028, 2032]


def test_spring_forward_skips_and_fall_back_fires_once():
    zone = ZoneInfo("America/New_York")
    expression, = to_aws_expressions("30 1,2 * * *")
    cron = parse_cron(split_expression(expression)[1])
    spring = cron.next_fire_times(datetime(2026, 3, 8, 0, 0, tzinfo=zone), zone, 3)
    assert [t.astimezone(zone).strftime("%d %H:%M") for t in spring] == ["08 01:30", "09 01:30", "09 02:30"]
    fall = cron.next_fire_times(datetime(2026, 11, 1, 0, 0, tzinfo=zone), zone, 3)
    assert [t.astimezone(zone).strftime("%d %H:%M %Z") for t in fall] == \
        ["01 01:30 EDT", "01 02:30 EST", "02 01:30 EST"]


@pytest.mark.parametrize("body, field", [
    ("0 9 * * * *", "expression"), ("0 9 * *", "expression"), ("61 9 * * ? *", "minutes"),
    ("0 9 ? * 8 *", "day-of-week"), ("0 9 32 * ? *", "day-of-month"), ("0 9 1 * ? 2300", "year"),
    ("5/ 9 * * ? *", "minutes"), ("0 9 1,,2 * ? *", "day-of-month"),
])
def test_aws_cron_parser_rejects_what_aws_rejects(body, field):
    with pytest.raises(ExpressionError) as caught:
        parse_cron(body)
    assert caught.value.field == field


@pytest.mark.parametrize("body, day", [("0 12 L * ? *", 30), ("0 12 15W * ? *", 16),
                                       ("0 12 ? * 6L *", 27), ("0 12 ? * 2#3 *", 16)])
def test_aws_special_day_forms(body, day):
    # November 2026: the 15th is a Sunday, the last Friday is the 27th, 3rd Monday the 16th.
    first, = parse_cron(body).next_fire_times(datetime(2026, 11, 1, tzinfo=UTC), ZoneInfo("UTC"), 1)
    assert (first.month, first.day) == (11, day)


def test_search_gives_up_on_dates_that_never_come():
    cron = parse_cron("0 0 30 2 ? *")
    assert cron.next_fire_times(datetime(2026, 1, 1, tzinfo=UTC), ZoneInfo("UTC"), 1) == []
