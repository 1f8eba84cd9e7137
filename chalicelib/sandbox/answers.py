"""What the debugtalk routes answer (see core/answers.py)."""
from __future__ import annotations

from chalicelib.core.answers import Answer, Time


class DebugtalkSaved(Answer):
    """The saved version and the functions testcases may now call."""

    version: int
    functions: list[str]
    sha256: str
    size: int
    updated_at: Time


class DebugtalkSource(DebugtalkSaved):
    source: str
