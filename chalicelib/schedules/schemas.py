"""Request bodies of the task routes (pydantic v2): a bad field is a 400 naming it."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from chalicelib.catalog.schemas import Alerts, _name, _unique, invalid
from chalicelib.catalog.schemas import Notify as ProjectNotify
from chalicelib.core.fields import Timezone
from chalicelib.core.ids import is_id
from chalicelib.runs.schemas import Retries
from chalicelib.schedules.crontab import CrontabError, parse_crontab

MAX_MODULES = 50  # each is a condition check in the task's transaction (100 items at most)
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _crontab(value: str) -> str:
    try:
        parsed = parse_crontab(value)
    except CrontabError as error:
        raise invalid(error.message if error.field == "crontab" else str(error)) from None
    return parsed.text


def _module_id(value: str) -> str:
    if not is_id(value):
        raise invalid("not a module of this project")
    return value


def _environment(value: str | None) -> str | None:
    if value is not None and not _ENVIRONMENT.fullmatch(value):
        raise invalid(f"{value!r} is not an environment name")
    return value


Name = Annotated[str, AfterValidator(_name)]
Crontab = Annotated[str, Field(max_length=200), AfterValidator(_crontab)]
ModuleIds = Annotated[list[Annotated[str, AfterValidator(_module_id)]], Field(max_length=MAX_MODULES),
                      AfterValidator(_unique)]
Environment = Annotated[str | None, AfterValidator(_environment)]


class Notify(ProjectNotify):
    """A task's recipients; unlike a project's, a task notifies no one unless told `when`."""

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
    alerts: Alerts | None = None  # None or []: the project's channels
    sync_imports: StrictBool = False  # re-sync the modules imported from a URL before each run
    retries: Retries | None = None  # retries of a failed run (runs/retries.py); None: none


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
    alerts: Alerts | None = None  # replaces the list (null or []: the project's again)
    sync_imports: StrictBool | None = None
    retries: Retries | None = None  # replaces the policy (null: no retries)
