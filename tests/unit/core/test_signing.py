from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.signing import SignatureInvalid, signature, signed_headers, verify

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BODY = b'{"module_ids": ["m1"]}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # printf '1700000000.{}' | openssl dgst -sha256 -hmac s3cret
    assert signature("s3cret", 1700000000, b"{}") == \
        "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"


def test_signed_headers_verify_with_any_current_secret():
    headers = signed_headers("new-secret", BODY, clock=lambda: NOW)
    verified = verify(["old-secret", "new-secret"], headers, BODY, clock=lambda: NOW)
    assert verified == headers["X-Hat-Signature"]


@pytest.mark.parametrize("mutate, message", [
    (lambda h, b: (h, b + b" "), "does not match"),
    (lambda h, b: ({**h, "X-Hat-Signature": "sha256=" + "0" * 64}, b), "does not match"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "X-Hat-Timestamp"}, b), "required"),
    (lambda h, b: ({**h, "X-Hat-Signature": "md5=abc"}, b), "required"),
    (lambda h, b: ({**h, "X-Hat-Timestamp": "soon"}, b), "required"),
])
def test_tampered_or_incomplete_requests_are_refused(mutate, message):
    headers, body = mutate(signed_headers("s", BODY, clock=lambda: NOW), BODY)
    with pytest.raises(SignatureInvalid, match=message):
        verify(["s"], headers, body, clock=lambda: NOW)


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301)])
def test_stale_timestamps_are_refused_both_ways(skew):
    headers = signed_headers("s", BODY, clock=lambda: NOW)
    with pytest.raises(SignatureInvalid, match="stale"):
        verify(["s"], headers, BODY, clock=lambda: NOW + skew)
    verify(["s"], headers, BODY, clock=lambda: NOW + timedelta(seconds=299))


def test_wrong_secret_is_refused():
    with pytest.raises(SignatureInvalid):
        verify(["other"], signed_headers("s", BODY, clock=lambda: NOW), BODY, clock=lambda: NOW)
