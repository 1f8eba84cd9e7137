"""Structured JSON logs: one object per line, with the request or job id, never a secret.

Every line carries `request_id` (HTTP) or `job_id` (SQS) from a context variable
set at the edge, so one request's lines can be found together in CloudWatch.
Values that look like secrets (tokens, codes, passwords, signatures) are masked
before a line is written, whatever the caller passed.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from chalicelib.core.masking import masked_text

# Read-only default: log_context() always sets a new dict, never mutates this one.
LOG_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "hat_log_context", default=MappingProxyType({}))
MASK = "***"
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|code|signature|authorization|api[_-]?key|otp", re.I)
# key=value / "key": "value" pairs whose key names a secret, Bearer tokens, and 6-digit codes.
# Log lines carry client text (paths, field values), so no pattern may backtrack: a pair's
# key is a whole word (it starts where no word character precedes, and is taken possessively),
# and whether the word names a secret is decided in Python, not by the regex.
_PAIRS = re.compile(r"""(?P<key>(?<!\w)["']?(?P<word>\w++)["']?\s*+[:=]\s*+)"""
                    r"""(?P<quote>["']?)(?P<value>[^"',\s}]++)""")
_SECRET_WORD = re.compile(r"password|secret|token|signature|authorization|api_key", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
_SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _masked_pair(match: re.Match[str]) -> str:
    word: str = match.group("word")
    if _SECRET_WORD.search(word) or word.lower().endswith("code"):
        return f"{match.group('key')}{match.group('quote')}{MASK}"
    return str(match.group(0))


def redact_text(text: str) -> str:
    text = masked_text(text)  # the values of the run in progress (core/masking.py)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _PAIRS.sub(_masked_pair, text)
    return _SIX_DIGITS.sub(MASK, text)


def redact(value: object, key: str = "") -> object:
    if key and SECRET_KEYS.search(key):
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            # Milliseconds: a 6-digit field would look like a code to the masking below.
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **LOG_CONTEXT.get(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact(line), default=str, separators=(",", ":"))


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (request_id, job_id...) to every line logged inside the block."""
    token = LOG_CONTEXT.set({**LOG_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        LOG_CONTEXT.reset(token)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr; on Lambda, reuse the runtime's handler with our format."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
