"""Request bodies of the catalog routes (pydantic v2): a bad field is a 400 naming it."""
from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_serializer, model_validator

from chalicelib.core.fields import URL, Email, Mobile, Url, invalid, valid_email, valid_mobile, valid_url

MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_ENVIRONMENTS = 50
MAX_ENVIRONMENTS_BYTES = 64 * 1024
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_]\w{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USERNAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_RECIPIENTS = 20
MAX_ENVIRONMENT_NAME_CHARS = 64
MAX_VARIABLE_NAME_CHARS = 128
MAX_USERNAME_CHARS = 64
MAX_BASE_URL_CHARS = 2048
MAX_MEMBERS_NAMED = 50  # a project's most members


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise invalid("must not be empty")
    if len(value) > MAX_NAME_CHARS:
        raise invalid(f"at most {MAX_NAME_CHARS} characters")
    if _CONTROL.search(value):
        raise invalid("must not contain control characters")
    return value


def _environment_name(value: str) -> str:
    if len(value) > MAX_ENVIRONMENT_NAME_CHARS or not _ENVIRONMENT_NAME.fullmatch(value):
        raise invalid(f"{value!r}: 1-64 of letters, digits, '_', '.', '-', "
                         "starting with a letter or digit")
    return value


def _variable_name(value: str) -> str:
    if len(value) > MAX_VARIABLE_NAME_CHARS or not _VARIABLE_NAME.fullmatch(value):
        raise invalid(f"{value!r} is not a variable name (letters, digits and _)")
    return value


def _base_url(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_BASE_URL_CHARS or (value and not URL.fullmatch(value)):
        raise invalid("an http:// or https:// URL")
    return value


def _environments(value: dict) -> dict:
    if len(value) > MAX_ENVIRONMENTS:
        raise invalid(f"at most {MAX_ENVIRONMENTS} environments")
    if len(json.dumps(value, separators=(",", ":"), default=str).encode()) > MAX_ENVIRONMENTS_BYTES:
        raise invalid(f"at most {MAX_ENVIRONMENTS_BYTES // 1024} KB of environments")
    return value


def _username(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_USERNAME_CHARS or not _USERNAME.fullmatch(value):
        raise invalid("a username (letters, digits, '_' and '-')")
    return value


Name = Annotated[str, AfterValidator(_name)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]
EnvironmentName = Annotated[str, AfterValidator(_environment_name)]
VariableName = Annotated[str, AfterValidator(_variable_name)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_SECRETS = 20  # per environment
MIN_SECRET_CHARS = 4  # shorter ones would mask every match of them in reports


def _secrets(value: dict) -> dict:
    if len(value) > MAX_SECRETS:
        raise invalid(f"at most {MAX_SECRETS} secrets")
    return value


SecretValue = Annotated[str, Field(min_length=MIN_SECRET_CHARS, max_length=4096)]


class Environment(_Body):
    """`secrets` are write-only: a value sets one, `null` removes it, a name not sent keeps the
    stored one (catalog/secrets.py); answers list their names only."""

    base_url: Annotated[str, Field(max_length=MAX_BASE_URL_CHARS), AfterValidator(_base_url)] = ""
    variables: dict[VariableName, Any] = Field(default_factory=dict)
    secrets: Annotated[dict[VariableName, SecretValue | None], AfterValidator(_secrets)] = \
        Field(default_factory=dict)

    @model_validator(mode="after")
    def _secret_or_variable(self) -> Environment:
        both = sorted(set(self.secrets) & set(self.variables))
        if both:
            raise ValueError(f"{', '.join(both)}: both a variable and a secret")
        return self


Environments = Annotated[dict[EnvironmentName, Environment], AfterValidator(_environments)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class Notify(_Body):
    """Who hears of a finished run, and when (a failed run also tells of the next pass):
    members by username (`users`: their account's email), and addresses: a member's own, or
    an outside one, which is asked once to confirm and hears nothing until it does
    (chalicelib/notify/recipients.py)."""

    users: Annotated[list[Annotated[str, AfterValidator(_username)]], Field(max_length=MAX_MEMBERS_NAMED),
                     AfterValidator(_unique)] = []
    emails: Annotated[list[Email], Field(max_length=MAX_RECIPIENTS), AfterValidator(_unique)] = []
    mobiles: Annotated[list[Mobile], Field(max_length=MAX_RECIPIENTS), AfterValidator(_unique)] = []
    when: Literal["never", "failure", "always"] = "failure"

    @model_serializer(mode="wrap")
    def _older_shape(self, dump: Any) -> dict:
        """As stored and shown: `users` only when some are named, else the older shape."""
        document = dump(self)
        if not document.get("users"):
            document.pop("users", None)
        return document


# --- alert channels (stored by catalog/alert_channels.py, sent by chalicelib/notify/alerts.py) ---

MAX_ALERTS = 10
MAX_ALERT_SECRET_CHARS = 256
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
    secret: str | None = Field(default=None, min_length=1, max_length=MAX_ALERT_SECRET_CHARS)
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


class ProjectCreate(_Body):
    name: Name
    description: Description = ""
    environments: Environments = Field(default_factory=dict)
    notify: Notify | None = None  # the default for runs that name no recipients of their own
    callback_url: Url | None = None  # the default for runs that give none
    alerts: Alerts | None = None  # alert channels, the default for its tasks


class ProjectPatch(_Body):
    """Only the fields sent change; `notify: null` or `callback_url: null` clears that default."""

    name: Name | None = None
    description: Description | None = None
    environments: Environments | None = None
    notify: Notify | None = None
    callback_url: Url | None = None
    alerts: Alerts | None = None  # replaces the list; a kept id without `secret` keeps its secret


class MemberBody(_Body):
    username: Annotated[str, AfterValidator(_username)]


class ModuleCreate(_Body):
    name: Name
    description: Description = ""


class ModulePatch(_Body):
    name: Name | None = None
    description: Description | None = None


class TestcaseBody(_Body):
    """POST /modules/{id}/testcases and PUT /testcases/{id}; `name` defaults to config.name."""

    __test__ = False

    name: Name | None = None
    testcase: Any  # required; validate_testcase explains what is wrong with it

