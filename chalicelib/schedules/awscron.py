"""EventBridge Scheduler expressions: parse and evaluate `cron(...)`, `rate(...)`, `at(...)`.

Used by the task API (next fire times, as AWS would fire them) and by the local
scheduler emulator, so both agree with each other. Semantics follow the AWS docs:
six cron fields (minutes hours day-of-month month day-of-week year), exactly one
of day-of-month / day-of-week is `?`, day-of-week 1-7 = SUN-SAT, evaluated in the
schedule's time zone; a local time skipped by a DST spring-forward does not fire,
a repeated one (fall-back) fires once.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTH_NAMES = {name: index for index, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
DAY_NAMES = {name: index for index, name in enumerate(
    ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
MIN_YEAR, MAX_YEAR = 1970, 2199


class ExpressionError(ValueError):
    """The expression is not one EventBridge Scheduler accepts; `field` names the part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _number(text: str, field: str, low: int, high: int, names: dict[str, int] | None) -> int:
    upper = text.upper()
    if names and upper in names:
        return names[upper]
    if not (text.isascii() and text.isdigit()):
        raise ExpressionError(field, f"{text!r} is not a number" + (" or a name" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ExpressionError(field, f"{value} is out of range {low}-{high}")
    return value


def parse_field(text: str, field: str, low: int, high: int,
                names: dict[str, int] | None = None) -> frozenset[int]:
    """Lists, ranges, steps and `*` of a plain numeric field, the same in AWS and Unix cron
    (crontab.py reads its fields with this too)."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ExpressionError(field, "empty item in a list")
        base, slash, step_text = part.partition("/")
        if slash and (not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0):
            raise ExpressionError(field, f"step {step_text!r} must be a positive number")
        step = int(step_text) if slash else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _number(first, field, low, high, names)
            end = _number(last, field, low, high, names)
            if start > end:
                raise ExpressionError(field, f"range {base} runs backwards")
        else:
            start = _number(base, field, low, high, names)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    days_of_month: frozenset[int] | None  # None: '?', day-of-week decides
    last_day_of_month: bool
    nearest_weekday: int | None  # 'nW'
    days_of_week: frozenset[int] | None  # 1-7 = SUN-SAT; None: '?'
    last_weekday_of_month: int | None  # 'nL'
    nth_weekday: tuple[int, int] | None  # 'd#n'

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        aws_weekday = (day.isoweekday() % 7) + 1  # Monday=1 iso -> 2; Sunday=7 iso -> 1
        if self.last_day_of_month:
            return day.day == last
        if self.nearest_weekday is not None:
            target = min(self.nearest_weekday, last)
            target_day = date(day.year, day.month, target)
            if target_day.weekday() == 5:  # Saturday -> Friday, or Monday if the 1st
                target = target - 1 if target > 1 else target + 2
            elif target_day.weekday() == 6:  # Sunday -> Monday, or Friday if the last
                target = target + 1 if target < last else target - 2
            return day.day == target
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        if self.last_weekday_of_month is not None:
            return aws_weekday == self.last_weekday_of_month and day.day + 7 > last
        if self.nth_weekday is not None:
            weekday, nth = self.nth_weekday
            return aws_weekday == weekday and (day.day - 1) // 7 + 1 == nth
        return self.days_of_week is not None and aws_weekday in self.days_of_week

    def fire_times(self, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
        """Fire times strictly after `after` (aware), in UTC, in order."""
        day = after.astimezone(zone).date()
        # Bounded by AWS's last year; months that cannot match are skipped whole, so even
        # "Feb 30" (never) ends quickly.
        while day.year <= MAX_YEAR:
            if day.month not in self.months or day.year not in self.years:
                day = _first_of_next_month(day)
                continue
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        moment = _local_moment(day, hour, minute, zone)
                        if moment is not None and moment > after:
                            yield moment
            day += timedelta(days=1)

    def next_fire_times(self, after: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
        times = []
        for moment in self.fire_times(after, zone):
            times.append(moment)
            if len(times) == count:
                break
        return times


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _local_moment(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time; None when DST skips it; first one when repeated."""
    naive = datetime.combine(day, time(hour, minute))
    aware = naive.replace(tzinfo=zone, fold=0)
    as_utc = aware.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return as_utc


def _day_of_month(text: str) -> dict:
    spec = {"days_of_month": None, "last_day_of_month": False, "nearest_weekday": None}
    field = "day-of-month"
    if text == "?":
        return spec
    if text == "L":
        spec["last_day_of_month"] = True
    elif re.fullmatch(r"\d+W", text):
        spec["nearest_weekday"] = _number(text[:-1], field, 1, 31, None)
    else:
        spec["days_of_month"] = parse_field(text, field, 1, 31)
    return spec


def _day_of_week(text: str) -> dict:
    spec = {"days_of_week": None, "last_weekday_of_month": None, "nth_weekday": None}
    field = "day-of-week"
    if text == "?":
        return spec
    if re.fullmatch(r"\w+L", text) and text.upper() not in DAY_NAMES:
        spec["last_weekday_of_month"] = _number(text[:-1], field, 1, 7, DAY_NAMES)
    elif "#" in text:
        weekday, _, nth = text.partition("#")
        spec["nth_weekday"] = (_number(weekday, field, 1, 7, DAY_NAMES), _number(nth, field, 1, 5, None))
    else:
        spec["days_of_week"] = parse_field(text, field, 1, 7, DAY_NAMES)
    return spec


def parse_cron(body: str) -> CronExpression:
    """The inside of `cron(...)`: 'minutes hours day-of-month month day-of-week year'."""
    parts = body.split()
    if len(parts) != 6:
        raise ExpressionError("expression", f"cron needs 6 fields, got {len(parts)}")
    minutes, hours, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ExpressionError("expression", "exactly one of day-of-month and day-of-week must be '?'")
    return CronExpression(
        minutes=parse_field(minutes, "minutes", 0, 59),
        hours=parse_field(hours, "hours", 0, 23),
        months=parse_field(month, "month", 1, 12, MONTH_NAMES),
        years=parse_field(year, "year", MIN_YEAR, MAX_YEAR),
        **_day_of_month(dom),
        **_day_of_week(dow),
    )


@dataclass(frozen=True)
class RateExpression:
    every: timedelta

    def fire_times(self, after: datetime, start: datetime) -> Iterator[datetime]:
        """Every `every` from `start` (the schedule's creation), strictly after `after`."""
        elapsed = max(timedelta(0), after - start)
        moment = start + (elapsed // self.every + 1) * self.every
        while True:
            yield moment
            moment += self.every


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def parse_rate(body: str) -> RateExpression:
    match = re.fullmatch(r"\s*(\d+)\s+(\w+)\s*", body)
    if not match or match.group(2) not in _RATE_UNITS or int(match.group(1)) < 1:
        raise ExpressionError("expression", f"rate({body}) is not 'rate(N minutes|hours|days)'")
    value, unit = int(match.group(1)), match.group(2)
    if (value == 1) != unit.endswith(("minute", "hour", "day")):
        raise ExpressionError("expression", f"rate({body}): use the singular unit for 1, plural otherwise")
    return RateExpression(timedelta(seconds=value * _RATE_UNITS[unit]))


def parse_at(body: str, zone: ZoneInfo) -> datetime:
    try:
        naive = datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
    except ValueError as error:
        raise ExpressionError("expression", f"at({body}) is not 'at(yyyy-mm-ddThh:mm:ss)'") from error
    return naive.replace(tzinfo=zone).astimezone(UTC)


def split_expression(expression: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*(cron|rate|at)\((.*)\)\s*", expression)
    if not match:
        raise ExpressionError("expression", f"{expression!r} is not cron(...), rate(...) or at(...)")
    return match.group(1), match.group(2)
