"""Unix crontab (5 fields) -> EventBridge Scheduler `cron(...)` expressions.

Unix cron and AWS differ: AWS wants six fields, `?` in exactly one of
day-of-month / day-of-week, day-of-week 1-7 = SUN-SAT (Unix: 0-7, 0 and 7 = SUN),
and cannot say "the 13th OR every Friday" in one expression, which Unix does
when both day fields are restricted (POSIX: a field other than a bare `*` is
restricted, so `*/2` counts). Such a crontab becomes two expressions, one per day
field, which together fire exactly when cron would.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.schedules.awscron import DAY_NAMES, MONTH_NAMES, ExpressionError, parse_field

UNIX_DAY_NAMES = {name: number - 1 for name, number in DAY_NAMES.items()}  # SUN=0
MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
FIELDS = (  # name, low, high, names
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, MONTH_NAMES),
    ("day-of-week", 0, 7, UNIX_DAY_NAMES),
)


class CrontabError(ExpressionError):
    """A crontab we cannot schedule; `field` is the crontab field, the message says why."""


def render_field(values: frozenset[int], low: int, high: int, *, steps: bool = True) -> str:
    """A compact AWS field for a set: '*', 'a/step' (where AWS allows it), or comma-joined ranges."""
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if steps and len(ordered) > 2:
        step = ordered[1] - ordered[0]
        if step > 1 and ordered == list(range(ordered[0], high + 1, step)):
            return f"{ordered[0]}/{step}"
    parts, start = [], ordered[0]
    for previous, current in zip(ordered, ordered[1:] + [None], strict=False):
        if current != previous + 1:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = current
    return ",".join(parts)


@dataclass(frozen=True)
class Crontab:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: unrestricted ('*')
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # Unix numbering 0-6, None: unrestricted

    def aws_expressions(self) -> list[str]:
        """One `cron(...)` per day field in use; two when Unix would OR them."""
        minute = render_field(self.minutes, 0, 59)
        hour = render_field(self.hours, 0, 23)
        month = render_field(self.months, 1, 12)
        by_month_day = f"cron({minute} {hour} {{dom}} {month} ? *)"
        by_week_day = f"cron({minute} {hour} ? {month} {{dow}} *)"
        expressions = []
        if self.days_of_month is not None or self.days_of_week is None:
            dom = "*" if self.days_of_month is None else render_field(self.days_of_month, 1, 31)
            expressions.append(by_month_day.format(dom=dom))
        if self.days_of_week is not None:
            aws_days = frozenset(day + 1 for day in self.days_of_week)  # SUN 0 -> 1
            # AWS allows no '/' in day-of-week.
            expressions.append(by_week_day.format(dow=render_field(aws_days, 1, 7, steps=False)))
        return expressions


def parse_crontab(text: str) -> Crontab:
    """Validate a 5-field crontab (or an @macro); errors name the field and why."""
    source = text.strip()
    expanded = MACROS.get(source.lower(), source)
    if expanded.startswith("@"):
        raise CrontabError("crontab", f"{source} is not supported; use 5 fields or one of "
                           + ", ".join(sorted(MACROS)))
    parts = expanded.split()
    if len(parts) != 5:
        raise CrontabError("crontab", f"needs 5 fields (minute hour day-of-month month day-of-week), "
                           f"got {len(parts)}")
    try:
        parsed = [parse_field(part, name, low, high, names)
                  for part, (name, low, high, names) in zip(parts, FIELDS, strict=True)]
    except ExpressionError as error:
        raise CrontabError(error.field, error.message) from None
    minutes, hours, days_of_month, months, days_of_week = parsed
    days_of_week = frozenset(day % 7 for day in days_of_week)  # 7 is Sunday too
    if parts[2] != "*" and parts[4] == "*" and not _month_day_can_happen(days_of_month, months):
        raise CrontabError("day-of-month", "never happens in the chosen months")
    return Crontab(
        text=source, minutes=minutes, hours=hours, months=months,
        days_of_month=None if parts[2] == "*" else days_of_month,
        days_of_week=None if parts[4] == "*" else days_of_week,
    )


_DAYS_IN_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _month_day_can_happen(days: frozenset[int], months: frozenset[int]) -> bool:
    return any(day <= _DAYS_IN_MONTH[month] for day in days for month in months)


def to_aws_expressions(text: str) -> list[str]:
    return parse_crontab(text).aws_expressions()
