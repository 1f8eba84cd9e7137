"""Cursor pagination: `?limit=` and `?cursor=` in, `{"items", "next_cursor"}` out.

A cursor is DynamoDB's LastEvaluatedKey, signed with the stage's secret key so a
client cannot forge one into another partition (nor make DynamoDB reject it with
a 500).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.settings import get_settings

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SIGNATURE_CHARS = 22
# A cursor holds a few DynamoDB key attributes (ids, sort keys): far under this. Checked,
# with ASCII, before the signature (compare_digest raises on a non-ASCII str).
MAX_CURSOR_CHARS = 2048


def _sign(payload: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, b"cursor:" + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_SIGNATURE_CHARS]


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    payload = base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()
    return f"{payload}.{_sign(payload)}"


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
        raise ValidationFailed({"cursor": "not a cursor this API issued"})
    payload, _, signature = cursor.partition(".")
    if not signature or not hmac.compare_digest(signature, _sign(payload)):
        raise ValidationFailed({"cursor": "not a cursor this API issued"})
    start: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload.encode()))
    return start


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError as error:
        raise ValidationFailed({"limit": "must be a whole number"}) from error
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": f"must be between 1 and {MAX_LIMIT}"})
    return limit


def page_params(query: Mapping[str, str] | None) -> tuple[int, dict[str, Any] | None]:
    """(limit, exclusive start key) from a request's query parameters."""
    query = query or {}
    return parse_limit(query.get("limit")), decode_cursor(query.get("cursor"))


def page(items: list[Any], last_key: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(last_key)}
