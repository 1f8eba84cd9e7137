"""GitHub's own webhook against the local stack as `make dev` runs it: a GitHub-shaped push,
signed with the secret from the project's creation answer, runs the project once; the same
delivery again runs nothing."""
from __future__ import annotations

import os
import uuid

from tests.e2e.test_catalog import signed_in
from tests.e2e.test_runs import _case, _poll, target  # noqa: F401 (target is a fixture)
from tests.functional.runs import hook_payloads as payloads


def test_a_github_push_runs_the_project_once(stack, http, target):  # noqa: F811
    headers = signed_in(stack, http)
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": f"hooks {os.urandom(2).hex()}", "environments": {"default": {"base_url": target}}}).json()
    module = http.post(f"{stack.url}/projects/{project['id']}/modules", headers=headers, timeout=5,
                       json={"name": "api"}).json()
    http.post(f"{stack.url}/modules/{module['id']}/testcases", headers=headers, timeout=5,
              json={"testcase": _case("good", 200)}).raise_for_status()

    raw = payloads.encode(payloads.github_push("master"))
    delivery = str(uuid.uuid1())
    signed = payloads.github_headers("push", raw, project["webhook_secret"], delivery=delivery)
    url = f"{stack.url}/hooks/projects/{project['id']}/github"
    first = http.post(url, data=raw, headers=signed, timeout=5)
    assert first.status_code == 202, first.text
    report = _poll(stack, http, headers, first.json()["report_id"])
    assert (report["status"], report["trigger"]) == ("passed", "webhook")
    assert report["origin"]["delivery"] == delivery

    again = http.post(url, data=raw, headers=signed, timeout=5)
    assert (again.status_code, again.json().get("duplicate")) == (200, True)
    reports = http.get(f"{stack.url}/projects/{project['id']}/reports", headers=headers, timeout=5).json()
    assert [r["id"] for r in reports["items"]] == [report["id"]]

    tampered = http.post(url, data=raw.replace(b"master", b"main"), headers=signed, timeout=5)
    assert tampered.status_code == 401
