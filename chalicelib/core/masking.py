"""Masking known values (environments' secrets) wherever a run could echo them.

A value is found as given and in the spellings it takes on the way through a request: URL
encoded (query strings, form bodies), JSON escaped, and base64 (Basic auth). One regex of
literal alternatives (longest first: no backtracking) replaces them all in a string; `mask`
walks a whole report (keys too). `masking(values)` also masks them in every log line written
inside the block (core/logs.py asks `masked_text`).
"""
from __future__ import annotations

import base64
import contextvars
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"


class Masker:
    def __init__(self, values: Iterable[str]) -> None:
        forms: set[str] = set()
        for value in values:
            if not value:
                continue
            forms.update({value, quote(value, safe=""), quote(value), quote_plus(value),
                          json.dumps(value)[1:-1], base64.b64encode(value.encode()).decode().rstrip("=")})
        self._pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) \
            if forms else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def mask(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (and key) masked."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self._pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {self.mask(k) if isinstance(k, str) else k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask(item) for item in value]
        return value


_ACTIVE: contextvars.ContextVar[Masker | None] = contextvars.ContextVar("hat_masker", default=None)


@contextmanager
def masking(masker: Masker) -> Iterator[Masker]:
    token = _ACTIVE.set(masker if masker else None)
    try:
        yield masker
    finally:
        _ACTIVE.reset(token)


def masked_text(text: str) -> str:
    masker = _ACTIVE.get()
    return masker.text(text) if masker is not None else text
