"""What the routes answer (pydantic v2): the success bodies the OpenAPI document shows.

Views name these by string (`@answers(200, "chalicelib.core.answers:Health")`), so they
load only when /openapi.json is built or a test validates an answer, never at cold start.
A field without a default is one API.md promises: the schema requires it. Every answer
allows extra properties, so adding a field to an answer never breaks a client.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")
Time = datetime  # ISO 8601 UTC, e.g. 2026-11-22T08:00:00Z: "format": "date-time" in the schema


class Answer(BaseModel):
    """The base of every answer: extra fields are allowed (additionalProperties: true)."""

    model_config = ConfigDict(extra="allow")


class Page(Answer, Generic[T]):
    """A list envelope; subclass it per item (`class ProjectPage(Page[Project])`) for a short name."""

    items: list[T]
    next_cursor: str | None


class Health(Answer):
    """Liveness: the stage and version this deployment runs."""

    status: str
    stage: str
    version: str


class OpenAPIDocument(Answer):
    """This document."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
