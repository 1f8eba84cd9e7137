"""HMAC-SHA256 request signatures: CI webhooks in, run callbacks out.

`X-Hat-Timestamp: <unix seconds>` and `X-Hat-Signature: sha256=<hex of
HMAC-SHA256("<timestamp>.<raw body>", secret)>`; a timestamp more than
`tolerance_seconds` away from now is stale. Replays within the window are the
caller's to refuse (e.g. `run_once` on the signature).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from chalicelib.core.clock import Clock
from chalicelib.core.errors import Unauthorized

TIMESTAMP_HEADER = "X-Hat-Timestamp"
SIGNATURE_HEADER = "X-Hat-Signature"
SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300
MAX_TIMESTAMP_DIGITS = 12  # unix seconds have 10 digits until the year 2286
SIGNATURE_CHARS = len(SIGNATURE_PREFIX) + 64  # sha256= and 32 bytes in hex


WEBHOOK_SECRET_PREFIX = "whsec_"


def new_salt() -> str:
    import secrets

    return secrets.token_hex(16)


def webhook_secret(project_id: str, salt: str) -> str:
    """A project's CI webhook secret: HMAC of the stage's secret key over the project and a
    salt, so only the salt is stored and rotating is replacing the salt."""
    from chalicelib.core.settings import get_settings

    key = get_settings().secret_key.encode()
    return WEBHOOK_SECRET_PREFIX + hmac.new(key, f"webhook:{project_id}:{salt}".encode(),
                                            hashlib.sha256).hexdigest()


class SignatureInvalid(Unauthorized):
    code = "bad_signature"


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, clock: Clock) -> dict[str, str]:
    timestamp = int(clock().timestamp())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body),
            "Content-Type": "application/json"}


def verify(secrets_to_try: list[str], headers: Mapping[str, str], body: bytes, *, clock: Clock,
           tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> str:
    """Check a signed request against any of the secrets (rotation); returns the signature.

    Headers are looked up case-insensitively by the caller's mapping (Chalice's is).
    """
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    given = headers.get(SIGNATURE_HEADER) or ""
    # Lengths first, then ASCII: str.isdigit() takes '²' (which int() refuses), int() of
    # thousands of digits is slow, and compare_digest raises on non-ASCII str.
    if not (0 < len(timestamp) <= MAX_TIMESTAMP_DIGITS and timestamp.isascii() and timestamp.isdigit()
            and len(given) == SIGNATURE_CHARS and given.isascii() and given.startswith(SIGNATURE_PREFIX)):
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} (unix seconds) and {SIGNATURE_HEADER} (sha256=<64 hex>) "
                               "are required")
    if abs(clock().timestamp() - int(timestamp)) > tolerance_seconds:
        raise SignatureInvalid(f"stale request: {TIMESTAMP_HEADER} is more than {tolerance_seconds} s off")
    if not any(hmac.compare_digest(given, signature(secret, timestamp, body)) for secret in secrets_to_try):
        raise SignatureInvalid("signature does not match")
    return given
