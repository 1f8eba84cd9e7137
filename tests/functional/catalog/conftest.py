"""Helpers for the catalog's functional tests: a JSON client per user, and the cleanup queue."""
from __future__ import annotations

import pytest

from tests import support

MINIMAL_TESTCASE = {
    "config": {"name": "smoke", "base_url": "https://api.example.com"},
    "teststeps": [{"name": "health", "request": {"method": "GET", "url": "/health"},
                   "validate": [{"eq": ["status_code", 200]}]}],
}


def sample_doc(name: str = "smoke", steps: int = 1) -> dict:
    return {
        "config": {"name": name, "base_url": "https://api.example.com"},
        "teststeps": [{"name": f"step {i}", "request": {"method": "GET", "url": f"/items/{i}"},
                       "validate": [{"eq": ["status_code", 200]}]} for i in range(steps)],
    }


class Api(support.Api):
    """The shared JSON client, with catalog shortcuts that must succeed."""

    def project(self, name: str = "shop", **fields) -> dict:
        answer = self.post("/projects", {"name": name, **fields})
        assert answer.status == 201, answer.body
        return answer.body

    def module(self, project_id: str, name: str = "orders") -> dict:
        answer = self.post(f"/projects/{project_id}/modules", {"name": name})
        assert answer.status == 201, answer.body
        return answer.body

    def testcase(self, module_id: str, name: str = "smoke", steps: int = 1) -> dict:
        answer = self.post(f"/modules/{module_id}/testcases", {"testcase": sample_doc(name, steps)})
        assert answer.status == 201, answer.body
        return answer.body


@pytest.fixture
def api_for(client, make_user):
    """api_for("alice") -> an Api for a new signed-in user."""
    return lambda username: Api(client, make_user(username))


@pytest.fixture
def alice(api_for) -> Api:
    return api_for("alice")


@pytest.fixture
def bob(api_for) -> Api:
    return api_for("bobby")


@pytest.fixture
def run_cleanup(app, aws):
    """Deliver the catalog queue's messages to its real handler until the queue is empty."""
    from infra.local.pollers import pollers_for

    poller = next(p for p in pollers_for(app, aws("sqs"), "us-east-1") if p.name == "catalog_cleanup")

    def drain(max_rounds: int = 50) -> int:
        delivered = 0
        for _ in range(max_rounds):
            got = poller.poll_once(wait_seconds=0)
            if not got:
                return delivered
            delivered += got
        raise AssertionError("the catalog queue never emptied")

    return drain

