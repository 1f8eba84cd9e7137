"""debugtalk.py against the local stack as `make dev` runs it: saved over HTTP, the
HttpRunner examples run through the real runs queue, poller and local sandbox."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_catalog import signed_in
from tests.functional.runner.server import LocalServer

EXAMPLES = Path(__file__).resolve().parents[1] / "functional" / "sandbox" / "examples"


@pytest.fixture
def echo():
    with LocalServer() as server:
        yield server


def test_the_examples_pass_through_the_local_stacks_sandbox(stack, http, echo):
    headers = signed_in(stack, http)
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": f"dt {os.urandom(2).hex()}", "environments": {"local": {"base_url": echo.url}}}).json()
    saved = http.put(f"{stack.url}/projects/{project['id']}/debugtalk", timeout=10,
                     data=(EXAMPLES / "debugtalk.py").read_bytes(),
                     headers={**headers, "Content-Type": "text/x-python"})
    assert saved.status_code == 200 and "get_sign" in saved.json()["functions"], saved.text
    module = http.post(f"{stack.url}/projects/{project['id']}/modules", headers=headers, timeout=5,
                       json={"name": "examples"}).json()
    for name in ("signed.yml", "hooks.yml", "parameters.yml"):
        made = http.post(f"{stack.url}/modules/{module['id']}/testcases", headers=headers, timeout=5,
                         json={"testcase": yaml.safe_load((EXAMPLES / name).read_text())})
        assert made.status_code == 201, made.text
    started = http.post(f"{stack.url}/projects/{project['id']}/runs", headers=headers, timeout=5)
    assert started.status_code == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report = http.get(f"{stack.url}/reports/{started.json()['report_id']}", headers=headers,
                          timeout=5).json()
        if report["status"] not in ("queued", "running"):
            break
        time.sleep(0.3)
    assert report["status"] == "passed", report
    assert report["tests_run"] == 6 and report["debugtalk_version"] == 1
