"""Issue 14, item 5: the unauthenticated CI webhook answers 401/400 to hostile headers and
bodies, never a 500 (a 5,000-digit or Unicode-digit timestamp, a non-ASCII signature, a
signed body that is deep, NaN or a lone surrogate)."""
from __future__ import annotations

import time

import pytest

from chalicelib.core.signing import signature


def _post(api, project_id: str, raw: bytes, headers: dict):
    response = api.client.http.post(f"/hooks/projects/{project_id}/runs",
                                    headers={"Content-Type": "application/json", **headers}, body=raw)
    return response.status_code, response.body


@pytest.mark.parametrize("timestamp, sig", [
    ("9" * 5000, "sha256=" + "0" * 64),
    ("\u00b2", "sha256=" + "0" * 64),  # '²': isdigit() but not int()
    ("\u0663" * 10, "sha256=" + "0" * 64),  # Arabic-Indic digits: int() takes them, we do not
    (None, "sha256=" + "\u00e9" * 64),  # compare_digest raises on a non-ASCII str
    (None, "sha256=" + "0" * 100_000),
    (None, "sha256=\x00" + "0" * 63),
])
def test_hostile_signature_headers_are_401(alice, target, timestamp, sig):
    project = alice.shop(target.url)["project"]
    stamp = timestamp or str(int(time.time()))
    status, body = _post(alice, project["id"], b"{}", {"X-Hat-Timestamp": stamp, "X-Hat-Signature": sig})
    assert status == 401, body


@pytest.mark.parametrize("raw, code", [
    (b"[" * 50_000 + b"]" * 50_000, "too_deep"),
    (b'{"environment": NaN}', "invalid_json"),
    (b'{"environment": "\\ud800"}', "invalid_json"),
])
def test_a_signed_hostile_body_is_a_400(alice, target, raw, code):
    project = alice.shop(target.url)["project"]
    stamp = int(time.time())
    status, body = _post(alice, project["id"], raw, {
        "X-Hat-Timestamp": str(stamp), "X-Hat-Signature": signature(project["webhook_secret"], stamp, raw)})
    assert status == 400, body
    assert code.encode() in body
