"""Request bodies of the runs routes (pydantic v2): a bad field is a 400 naming it."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chalicelib.catalog.schemas import invalid

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
MAX_RECIPIENTS = 20


def _url(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value) or len(value) > 2000:
        raise invalid("an http:// or https:// URL (at most 2000 characters)")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value) or len(value) > 254:
        raise invalid(f"{value!r} is not an email address")
    return value


def _mobile(value: str) -> str:
    if not _E164.fullmatch(value):
        raise invalid(f"{value!r} is not an E.164 number (+8613800138000)")
    return value


Url = Annotated[str, AfterValidator(_url)]
Email = Annotated[str, AfterValidator(_email)]
Mobile = Annotated[str, AfterValidator(_mobile)]


class NotifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: list[Email] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    mobiles: list[Mobile] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    when: Literal["never", "failure", "always"] = "failure"


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str | None = Field(default=None, max_length=64)
    notify: NotifyBody | None = None
    callback_url: Url | None = None


class WebhookBody(RunBody):
    module_ids: list[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] | None = Field(default=None,
                                                                                      max_length=500)


class DebugBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str = Field(max_length=64)
    testcase: Any
    environment: str | None = Field(default=None, max_length=64)
