"""Time in one form: aware UTC datetimes in, ISO 8601 'Z' strings out."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
# The longest IANA name is 32 characters (America/Argentina/ComodRivadavia); checked before
# any lookup, which ZoneInfo does as a file path.
MAX_TIMEZONE_CHARS = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """2026-11-22T08:00:00Z (seconds precision, as API.md shows)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
