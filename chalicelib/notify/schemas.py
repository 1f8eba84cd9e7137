"""Alert channels in request bodies (pydantic v2): a bad field is a 400 naming it
(`alerts[1].target`). Imported by the catalog and task schemas only (not at cold start)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from chalicelib.core.fields import invalid, valid_email, valid_mobile, valid_url

MAX_ALERTS = 10
MAX_SECRET_CHARS = 256
CHAT_TYPES = ("webhook", "slack", "teams", "feishu", "dingtalk", "wecom")
_ALERT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _alert_id(value: str) -> str:
    if not _ALERT_ID.fullmatch(value):
        raise invalid("1-32 of lower-case letters, digits, '_' and '-'")
    return value


class AlertChannel(BaseModel):
    """One channel: where (`target`), how (`type`), when; `secret` is write-only (a chat bot's
    signing secret); an entry that keeps its `id` and sends no secret keeps the stored one."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, AfterValidator(_alert_id)] | None = None
    type: Literal["email", "sms", "webhook", "slack", "teams", "feishu", "dingtalk", "wecom"]
    target: str = Field(max_length=2000)
    secret: str | None = Field(default=None, min_length=1, max_length=MAX_SECRET_CHARS)
    when: list[Literal["failure", "recovery", "degraded", "always"]] = Field(
        default_factory=lambda: ["failure", "recovery"], max_length=4
    )
    after_failures: int = Field(default=1, ge=1, le=100)
    quiet_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _target_fits_type(self) -> AlertChannel:
        if self.type == "email":
            self.target = valid_email(self.target)
        elif self.type == "sms":
            self.target = valid_mobile(self.target)
        else:
            # http or https: where a URL may point is the outbound guard's call (ssrf.py), as for runs
            self.target = valid_url(self.target)
        if self.secret is not None and self.type not in ("feishu", "dingtalk"):
            raise invalid("only feishu and dingtalk channels take a signing secret")
        return self


def _unique_ids(channels: list[AlertChannel]) -> list[AlertChannel]:
    ids = [c.id for c in channels if c.id]
    if len(ids) != len(set(ids)):
        raise invalid("alert ids must be unique")
    return channels


Alerts = Annotated[list[AlertChannel], Field(max_length=MAX_ALERTS), AfterValidator(_unique_ids)]
