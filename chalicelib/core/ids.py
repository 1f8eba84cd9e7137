"""Ids and ordering keys every feature shares: 32-hex ids, case-folded names, creation-order keys."""
from __future__ import annotations

import re
import uuid
from datetime import datetime

from chalicelib.core.errors import NotFound

ID = re.compile(r"[0-9a-f]{32}")  # what new_id() makes: a uuid4 in hex


def new_id() -> str:
    return uuid.uuid4().hex


def is_id(value: object) -> bool:
    return isinstance(value, str) and ID.fullmatch(value) is not None


def checked_id(value: object, what: str) -> str:
    """The id, or NotFound (`<what>_not_found`): a malformed id names nothing that exists."""
    if not is_id(value):
        raise NotFound(f"{what} not found", code=f"{what}_not_found")
    return value  # type: ignore[return-value]  # is_id checked it is a str


def fold(name: str) -> str:
    """Names are unique and filtered case-insensitively."""
    return name.casefold()


def precise(moment: datetime) -> str:
    """A UTC timestamp to the microsecond that sorts as text: '2026-11-22T08:00:00.123456Z'."""
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z"


def sort_key(moment: datetime, item_id: str) -> str:
    """Creation (or change) order, then id: '2026-11-22T08:00:00.123456Z#<id>'."""
    return f"{precise(moment)}#{item_id}"
