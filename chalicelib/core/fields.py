"""Field types every request body shares (pydantic v2): e-mail, mobile, URL, time zone.

Imported only by the features' schemas modules, which the views load on first use:
pydantic stays out of the cold start. A bad value raises `invalid(...)`, whose message
the 400 shows as is under the field's name.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from chalicelib.core.clock import MAX_TIMEZONE_CHARS

MAX_URL_CHARS = 2000
MAX_EMAIL_CHARS = 254
MAX_MOBILE_CHARS = 32  # E.164 is at most 16 characters; spaces around are stripped
# Every pattern here is checked after the value's length, and none backtracks: each
# character has one place to go (tests/bench/bench_patterns.py times them on 1 MiB).
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A host, then nothing or a path/query/fragment: the two parts cannot trade characters.
URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")
# Possessive: a dot-atom's parts never give characters back (no backtracking stack either).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]++(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]++)*+")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def invalid(reason: str) -> PydanticCustomError:
    """A ValueError pydantic reports as is (no "Value error, " prefix)."""
    return PydanticCustomError("invalid", "{reason}", {"reason": reason})


def valid_email(value: str) -> str:
    """The address, lower-cased (the one form uniqueness and delivery use)."""
    address = value.strip()
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (not at or len(address) > MAX_EMAIL_CHARS or len(local) > 64 or not _LOCAL_PART.fullmatch(local)
            or len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        raise invalid("must be an email address like name@example.com")
    return address.lower()


def valid_mobile(value: str) -> str:
    if len(value) > MAX_MOBILE_CHARS or not E164.fullmatch(value.strip()):
        raise invalid("must be a mobile number in E.164 form, like +8613800138000")
    return value.strip()


def valid_url(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_URL_CHARS or not URL.fullmatch(value):
        raise invalid(f"must be an http:// or https:// URL (at most {MAX_URL_CHARS} characters)")
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def valid_timezone(value: str) -> str:
    if len(value) > MAX_TIMEZONE_CHARS:
        raise invalid(f"a time zone name is at most {MAX_TIMEZONE_CHARS} characters")
    value = value.strip()
    if value not in _zones() or value.lower() == "localtime":
        raise invalid(f"{value!r} is not an IANA time zone name (like Asia/Shanghai or UTC)")
    return value


Email = Annotated[str, AfterValidator(valid_email)]
Mobile = Annotated[str, AfterValidator(valid_mobile)]
Url = Annotated[str, AfterValidator(valid_url)]
Timezone = Annotated[str, Field(max_length=MAX_TIMEZONE_CHARS), AfterValidator(valid_timezone)]
