"""What the catalog routes answer (see core/answers.py): projects, members, modules, test cases."""
from __future__ import annotations

from typing import Any, Literal

from chalicelib.core.answers import Answer, Page, Time


class ProjectEnvironment(Answer):
    """An environment; its secrets are write-only (their names only)."""

    base_url: str
    variables: dict[str, Any]
    secrets: list[str] = []


class AlertChannel(Answer):
    """An alert channel; its signing secret is write-only (`has_secret`)."""

    id: str
    type: Literal["email", "sms", "webhook", "slack", "teams", "feishu", "dingtalk", "wecom"]
    target: str
    when: list[Literal["failure", "recovery", "degraded", "always"]]
    after_failures: int
    quiet_minutes: int
    has_secret: bool


class Recipients(Answer):
    """Who hears of a finished run, and when: members by username, addresses (a member's own,
    or outside ones that confirmed)."""

    users: list[str] = []
    emails: list[str]
    mobiles: list[str]
    when: Literal["never", "failure", "always"]


class Project(Answer):
    """A project, as the caller (its owner or a member: `role`) sees it."""

    id: str
    name: str
    description: str
    owner_id: str
    role: Literal["owner", "member"]
    member_count: int
    module_count: int
    testcase_count: int
    environments: dict[str, ProjectEnvironment]
    notify: Recipients | None
    callback_url: str | None
    alerts: list[AlertChannel] = []
    created_at: Time
    updated_at: Time


class ProjectCreated(Project):
    """The new project, with its CI webhook secret (shown this once)."""

    webhook_secret: str


class ProjectPage(Page[Project]):
    """The caller's projects, newest first."""


class Member(Answer):
    """A member of a project."""

    user_id: str
    username: str
    role: Literal["owner", "member"]
    added_at: Time


class MemberPage(Page[Member]):
    """A project's members, owner first (one page: next_cursor is null)."""


class Module(Answer):
    """A module of a project."""

    id: str
    project_id: str
    name: str
    description: str
    testcase_count: int
    created_at: Time
    updated_at: Time


class ModulePage(Page[Module]):
    """A project's modules, newest first."""


class TestcaseSummary(Answer):
    """A test case without its document."""

    id: str
    module_id: str
    project_id: str
    name: str
    step_count: int
    size_bytes: int
    created_at: Time
    updated_at: Time


class HttpRunnerTestcase(Answer):
    """An HttpRunner v3 testcase document."""

    config: dict[str, Any]
    teststeps: list[Any]


class Testcase(TestcaseSummary):
    """A test case with its HttpRunner v3 document."""

    testcase: HttpRunnerTestcase


class TestcasePage(Page[TestcaseSummary]):
    """A module's test cases (summaries), newest first."""
