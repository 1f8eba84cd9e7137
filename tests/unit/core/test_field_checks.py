"""Issue 14, item 4: every field check looks at the length before any pattern runs, and
every pattern that reads client input is in tests/bench/bench_patterns.py, which times it on
adversarial input of the maximum body size against a linear scan."""
from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from pydantic_core import PydanticCustomError

import chalicelib
from chalicelib.accounts import schemas as accounts_schemas
from chalicelib.catalog import schemas as catalog_schemas
from chalicelib.core import fields
from chalicelib.core.settings import DEFAULT_MAX_BODY_BYTES
from tests.bench.bench_patterns import PATTERNS

HUGE = DEFAULT_MAX_BODY_BYTES  # what one body can carry


class PatternSpy:
    """Stands in for a compiled pattern; fails the test if it is given an over-long value."""

    def __init__(self, pattern: re.Pattern, limit: int) -> None:
        self.pattern, self.limit, self.lengths = pattern, limit, []

    def _check(self, value: str) -> None:
        self.lengths.append(len(value))
        assert len(value) <= self.limit, f"{self.pattern.pattern!r} ran on {len(value)} characters"

    def fullmatch(self, value: str):
        self._check(value)
        return self.pattern.fullmatch(value)

    def search(self, value: str):
        self._check(value)
        return self.pattern.search(value)


CHECKS = [  # (validator, module holding its pattern, the pattern's name, the length allowed, a value)
    (fields.valid_url, fields, "URL", fields.MAX_URL_CHARS, "http://" + "a" * HUGE + " x"),
    (fields.valid_mobile, fields, "E164", fields.MAX_MOBILE_CHARS, "+1" + "0" * HUGE),
    (fields.valid_email, fields, "_LOCAL_PART", 64, "a." * HUGE + "@example.com"),
    (fields.valid_email, fields, "_DOMAIN_LABEL", 63, "a@" + "a" * HUGE + ".com"),
    (catalog_schemas._base_url, catalog_schemas, "URL", catalog_schemas.MAX_BASE_URL_CHARS,
     "http://" + "a" * HUGE + " x"),
    (catalog_schemas._environment_name, catalog_schemas, "_ENVIRONMENT_NAME",
     catalog_schemas.MAX_ENVIRONMENT_NAME_CHARS, "a" * HUGE + "!"),
    (catalog_schemas._variable_name, catalog_schemas, "_VARIABLE_NAME",
     catalog_schemas.MAX_VARIABLE_NAME_CHARS, "a" * HUGE + "!"),
    (catalog_schemas._username, catalog_schemas, "_USERNAME", catalog_schemas.MAX_USERNAME_CHARS, "a" * HUGE),
    (catalog_schemas._name, catalog_schemas, "_CONTROL", catalog_schemas.MAX_NAME_CHARS, "a" * HUGE),
    (accounts_schemas.RegisterBody._username, accounts_schemas, "USERNAME",
     accounts_schemas.MAX_USERNAME_CHARS, "a" * HUGE),
    (accounts_schemas.RegisterBody._code, accounts_schemas, "CODE", accounts_schemas.MAX_CODE_CHARS,
     "1" * HUGE),
]


@pytest.mark.parametrize("check, module, name, limit, value", CHECKS,
                         ids=[f"{c[0].__qualname__}-{c[2]}" for c in CHECKS])
def test_the_length_is_checked_before_the_pattern(monkeypatch, check, module, name, limit, value):
    spy = PatternSpy(getattr(module, name), limit)
    monkeypatch.setattr(module, name, spy)
    with pytest.raises(PydanticCustomError):
        check(value)
    assert all(length <= limit for length in spy.lengths)


def test_a_time_zone_is_checked_by_length_before_any_lookup(monkeypatch):
    monkeypatch.setattr(fields, "_zones", lambda: pytest.fail("looked up a 1 MiB time zone"))
    with pytest.raises(PydanticCustomError, match="at most 64"):
        fields.valid_timezone("A" * HUGE)


def _patterns_reading_client_input() -> dict[int, str]:
    found = {}
    for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        if info.name.startswith("chalicelib.runner"):  # the runner's own bench and tests (issue 14, item 2)
            continue
        for attribute, value in vars(importlib.import_module(info.name)).items():
            if isinstance(value, re.Pattern):
                found.setdefault(id(value), f"{info.name}.{attribute}")
    return found


def test_every_module_pattern_is_in_the_adversarial_bench():
    benched = {id(pattern) for _, pattern, _ in PATTERNS}
    missing = [name for key, name in _patterns_reading_client_input().items() if key not in benched]
    assert not missing, f"add these to tests/bench/bench_patterns.py: {missing}"
