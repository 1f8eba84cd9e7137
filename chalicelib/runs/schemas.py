"""Request bodies of the runs routes (pydantic v2): a bad field is a 400 naming it."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.catalog.schemas import Notify, Url


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str | None = Field(default=None, max_length=64)
    notify: Notify | None = None
    callback_url: Url | None = None


class WebhookBody(RunBody):
    module_ids: list[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] | None = Field(default=None,
                                                                                      max_length=500)


class DebugBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str = Field(max_length=64)
    testcase: Any
    environment: str | None = Field(default=None, max_length=64)
