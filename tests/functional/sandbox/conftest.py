"""Sandbox tests: a project with a debugtalk.py, its runs through the real worker."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.functional.runs.conftest import RunsApi, alice, bob, run_queue, runs_api_for, target  # noqa: F401

EXAMPLES = Path(__file__).parent / "examples"


def example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text())


def put_debugtalk(api: RunsApi, project_id: str, source: str, content_type: str = "text/x-python"):
    return api.call("PUT", f"/projects/{project_id}/debugtalk", raw=source, content_type=content_type)


def step(name: str, url: str = "/status/200", **fields) -> dict:
    return {"name": name, "request": {"method": "GET", "url": url}, **fields}


@pytest.fixture
def echo(target):  # noqa: F811 - target opens loopback to the runs (HAT_OUTBOUND_ALLOW)
    """The runner's functional server (/echo answers what it was sent), on loopback."""
    from tests.functional.runner.server import LocalServer

    with LocalServer() as server:
        yield server


@pytest.fixture
def run_report(run_queue):  # noqa: F811
    """Run a project through the queue and the real worker; its report."""
    def run(api: RunsApi, project_id: str) -> dict:
        answer = api.post(f"/projects/{project_id}/runs")
        assert answer.status == 202, answer.body
        run_queue()
        return api.get(f"/reports/{answer.body['report_id']}").body

    return run
