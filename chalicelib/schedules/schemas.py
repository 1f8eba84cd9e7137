"""Request bodies of the task routes (pydantic v2): a bad field is a 400 naming it."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chalicelib.catalog.schemas import _name, invalid
from chalicelib.schedules.crontab import CrontabError, parse_crontab

MAX_MODULES = 50  # each is a condition check in the task's transaction (100 items at most)
MAX_RECIPIENTS = 20
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ID = re.compile(r"[0-9a-f]{32}")
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def _crontab(value: str) -> str:
    try:
        parsed = parse_crontab(value)
    except CrontabError as error:
        raise invalid(error.message if error.field == "crontab" else str(error)) from None
    return parsed.text


def _timezone(value: str) -> str:
    value = value.strip()
    if value not in _zones() or value.lower() == "localtime":
        raise invalid(f"{value!r} is not an IANA time zone name (like Asia/Shanghai or UTC)")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise invalid(f"{value!r} is not an email address")
    return value


def _mobile(value: str) -> str:
    value = value.strip()
    if not _E164.fullmatch(value):
        raise invalid(f"{value!r} is not a mobile number in E.164 form, like +8613800138000")
    return value


def _module_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise invalid("not a module of this project")
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _environment(value: str | None) -> str | None:
    if value is not None and not _ENVIRONMENT.fullmatch(value):
        raise invalid(f"{value!r} is not an environment name")
    return value


Name = Annotated[str, AfterValidator(_name)]
Crontab = Annotated[str, Field(max_length=200), AfterValidator(_crontab)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
ModuleIds = Annotated[list[Annotated[str, AfterValidator(_module_id)]], Field(max_length=MAX_MODULES),
                      AfterValidator(_unique)]
Environment = Annotated[str | None, AfterValidator(_environment)]


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: Annotated[list[Annotated[str, AfterValidator(_email)]],
                      Field(max_length=MAX_RECIPIENTS), AfterValidator(_unique)] = []
    mobiles: Annotated[list[Annotated[str, AfterValidator(_mobile)]],
                       Field(max_length=MAX_RECIPIENTS), AfterValidator(_unique)] = []
    when: Literal["never", "failure", "always"] = "never"


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    project_id: str = Field(max_length=64)
    module_ids: ModuleIds = []
    crontab: Crontab
    timezone: Timezone | None = None  # None: settings.default_timezone
    environment: Environment = None
    enabled: bool = True
    notify: Notify = Notify()


class TaskPatch(BaseModel):
    """Every field optional; only the ones sent change. `environment: null` clears it."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    module_ids: ModuleIds | None = None
    crontab: Crontab | None = None
    timezone: Timezone | None = None
    environment: Environment = None
    enabled: bool | None = None
    notify: Notify | None = None
