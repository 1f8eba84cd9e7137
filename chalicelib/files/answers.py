"""What the project files routes answer (see core/answers.py)."""
from __future__ import annotations

from chalicelib.core.answers import Answer, Time


class FileInfo(Answer):
    """A project file: its path, size in bytes, SHA-256 (hex) and last upload."""

    path: str
    size: int
    sha256: str
    updated_at: Time


class FileList(Answer):
    """Every file of the project, by path."""

    items: list[FileInfo]
