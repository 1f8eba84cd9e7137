"""What a request header may hold: checked when a testcase is saved (static headers) and
when a step renders its request (headers built from variables)."""

from __future__ import annotations

import re
from typing import Any

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what no header value may hold (tab may)
_NAMED = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\x00": "a NUL"}


def header_value_problem(value: str) -> str | None:
    """Why a header value cannot be sent (CR or LF would start a header of its choosing)."""
    match = CONTROL.search(value)
    if match is None:
        return None
    char = match.group()
    name = _NAMED.get(char, f"the control character {char!r}")
    return f"the value holds {name}, which HTTP does not allow in a header"


def static_header_problem(name: str, value: Any) -> str | None:
    """The save-time check: names and values written as they are sent (no ``$``)."""
    if "$" not in name and not HEADER_NAME.fullmatch(name):
        return f"header name {name[:100]!r} is not an HTTP token (letters, digits, -, _ ...)"
    if isinstance(value, str) and "$" not in value:
        problem = header_value_problem(value)
        if problem:
            return f"header {name}: {problem}"
    return None
