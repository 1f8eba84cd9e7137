"""Helpers for the task tests: a JSON client per user, projects and modules, a fake clock,
and a Scheduler gateway that can be told to fail on its n-th call."""
from __future__ import annotations

import pytest

from tests import support


class Api(support.Api):
    """The shared JSON client, with task shortcuts (ids, not bodies)."""

    def post(self, path: str, body: object = None, **kwargs) -> support.Answer:
        return super().post(path, body if body is not None else {}, **kwargs)

    def project(self, name: str = "shop", environments: dict | None = None) -> str:
        answer = self.post("/projects", {"name": name, "environments": environments or {
            "staging": {"base_url": "https://staging.example.com"}}})
        assert answer.status == 201, answer.body
        return answer.body["id"]

    def module(self, project_id: str, name: str = "orders") -> str:
        answer = self.post(f"/projects/{project_id}/modules", {"name": name})
        assert answer.status == 201, answer.body
        return answer.body["id"]

    def task(self, project_id: str, **fields) -> support.Answer:
        return self.post("/tasks", {"name": "nightly", "project_id": project_id,
                                    "crontab": "30 9 * * *", "timezone": "Asia/Shanghai", **fields})


@pytest.fixture
def api(client, make_user):
    made: dict[str, Api] = {}

    def for_user(username: str = "alice") -> Api:
        if username not in made:
            made[username] = Api(client, make_user(username))
        return made[username]

    return for_user


class FlakyGateway:
    """Wraps the real gateway; the call numbered `fail_on` (1-based, counting create/update/
    delete/put) raises SchedulerUnavailable, once."""

    def __init__(self, real, fail_on: int | None = None, fail_ops: tuple[str, ...] = ()) -> None:
        self.real = real
        self.fail_on = fail_on
        self.fail_ops = fail_ops
        self.calls: list[str] = []

    def __getattr__(self, name):
        attribute = getattr(self.real, name)
        if name not in ("create", "update", "delete"):
            return attribute

        def call(*args, **kwargs):
            from chalicelib.schedules.gateway import SchedulerUnavailable

            self.calls.append(name)
            if (self.fail_on is not None and len(self.calls) == self.fail_on) or name in self.fail_ops:
                self.fail_on = None
                raise SchedulerUnavailable()
            return attribute(*args, **kwargs)

        return call

    def put(self, schedule):  # through our create/update, so failures count
        from chalicelib.schedules.gateway import ScheduleExists

        try:
            self.create(schedule)
        except ScheduleExists:
            self.update(schedule)


def schedules(aws) -> dict[str, dict]:
    """Every schedule of the group, as AWS holds it (name -> GetSchedule)."""
    scheduler = aws("scheduler")
    names = [s["Name"] for page in scheduler.get_paginator("list_schedules").paginate(GroupName="hat-dev")
             for s in page["Schedules"]]
    return {name: scheduler.get_schedule(GroupName="hat-dev", Name=name) for name in names}
