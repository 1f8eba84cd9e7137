"""Password rules and bcrypt, with a constant-ish cost whether or not the user exists.

Rules: 8-64 characters, at most 72 bytes in UTF-8 (bcrypt reads no more and bcrypt 5
raises above it: such a password is refused, never truncated nor pre-hashed, as
OWASP advises), no control characters (bcrypt stops reading at NUL, so "\0\0\0\0\0\0\0\0"
would verify against "" or "\0"; tabs, newlines and the like cannot be typed back
reliably), not only whitespace, and not one of the most common passwords.

common_passwords.txt: the 8-64 character entries (8,354, most common first) of the
20,000-entry list Django ships as django/contrib/auth/common-passwords.txt.gz
(BSD licence), which comes from Royce Williams' list of leaked passwords.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

MIN_LENGTH = 8
MAX_LENGTH = 64
MAX_BYTES = 72  # bcrypt's limit
COMMON_PASSWORDS_PATH = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_PATH.open(encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def is_common(password: str) -> bool:
    return password.strip().lower() in common_passwords()


def password_problem(password: str) -> str | None:
    """Why this password cannot be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if any(unicodedata.category(char) == "Cc" for char in password):
        return "must not contain control characters (NUL, tab, newline and the like)"
    if password.isspace():
        return "must not be only whitespace"
    if len(password.encode("utf-8")) > MAX_BYTES:
        return (f"is {len(password.encode('utf-8'))} bytes in UTF-8; at most {MAX_BYTES} are allowed "
                "(bcrypt's limit): use fewer non-ASCII characters")
    if is_common(password):
        return "is one of the most common passwords; choose another"
    return None


def hash_password(password: str, rounds: int | None = None) -> str:
    import bcrypt

    from chalicelib.core.settings import get_settings

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds or get_settings().bcrypt_rounds)).decode()


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return hash_password("not anyone's password", rounds).encode()


def check_password(password: str, password_hash: str | None) -> bool:
    """bcrypt check; with no hash (no such user) a dummy hash is checked, so timing is alike."""
    import bcrypt

    from chalicelib.core.settings import get_settings

    candidate = password.encode()
    # Too long: never stored (bcrypt 5 raises on it). With a NUL: bcrypt would compare only
    # what comes before it. Either is wrong, after the same bcrypt time as any other.
    refused = len(candidate) > MAX_BYTES or b"\0" in candidate
    if refused:
        candidate = b""
    if password_hash is None:
        bcrypt.checkpw(candidate, _dummy_hash(get_settings().bcrypt_rounds))
        return False
    return bcrypt.checkpw(candidate, password_hash.encode()) and not refused
