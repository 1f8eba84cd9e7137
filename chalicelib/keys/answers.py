"""What the keys routes answer (see core/answers.py)."""
from __future__ import annotations

from typing import Literal

from chalicelib.core.answers import Answer, Page, Time


class Key(Answer):
    """An API key as listed: never the key itself."""

    id: str
    project_id: str
    name: str
    scopes: list[Literal["read", "run", "write"]]
    created_by: str
    created_at: Time
    expires_at: Time | None
    last_used_at: Time | None
    expired: bool
    owner_is_member: bool | None = None  # false: its owner left the project, so it no longer works


class KeyCreated(Key):
    """The new key: `key` (hat_...) is shown in this answer only."""

    key: str


class KeyPage(Page[Key]):
    """A project's keys, newest first."""


class ProjectRef(Answer):
    id: str
    name: str


class CurrentKey(Answer):
    """The key this request was made with, and its project."""

    id: str
    name: str
    scopes: list[str]
    project: ProjectRef
