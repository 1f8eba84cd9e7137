"""Request bodies of the runs routes (pydantic v2): a bad field is a 400 naming it."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from chalicelib.catalog.schemas import Notify, Url


class Retries(BaseModel):
    """A run's retry policy (runs/retries.py): when it fails, its failing test cases run again up
    to `attempts` times, waiting `delay_seconds` shaped by `backoff` before each, as long as the
    next attempt is due within `max_total_seconds` of the run's start. 0 attempts: off."""

    model_config = ConfigDict(extra="forbid")

    attempts: StrictInt = Field(default=0, ge=0, le=5)  # extra attempts after the first
    backoff: Literal["fixed", "linear", "exponential"] = "fixed"
    delay_seconds: StrictInt = Field(default=30, ge=1, le=600)  # the base delay
    max_total_seconds: StrictInt = Field(default=600, ge=1, le=3600)


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str | None = Field(default=None, max_length=64)
    notify: Notify | None = None
    callback_url: Url | None = None
    retries: Retries | None = None  # a manual run's own policy (tasks have theirs)


class ProjectRunBody(RunBody):
    """A project's run; `module_ids`: only these modules of it (the `hat run --module` case)."""

    module_ids: list[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] | None = Field(default=None,
                                                                                      max_length=500)


class WebhookBody(ProjectRunBody):
    pass


class DebugBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str = Field(max_length=64)
    testcase: Any
    environment: str | None = Field(default=None, max_length=64)


Pattern = Annotated[str, Field(min_length=1, max_length=200)]
ModuleId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class HookRule(BaseModel):
    """One rule for GitHub/GitLab deliveries (runs/hooks.py): what it runs on, what it runs."""

    model_config = ConfigDict(extra="forbid")

    events: list[Literal["push", "tag", "release", "deployment"]] = Field(min_length=1, max_length=4)
    providers: list[Literal["github", "gitlab"]] | None = Field(default=None, max_length=2)
    branches: list[Pattern] | None = Field(default=None, max_length=20)  # "*" globs; ":default"
    tags: list[Pattern] | None = Field(default=None, max_length=20)
    environments: list[Pattern] | None = Field(default=None, max_length=20)  # deployments'
    modules: list[ModuleId] | None = Field(default=None, max_length=100)  # None: the whole project
    environment: str | None = Field(default=None, max_length=64)  # the project's, to run in


class GithubToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")  # printable, no spaces


class HookRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[HookRule] | None = Field(max_length=20)  # null: back to the defaults
