"""hat's own /openapi.json imported into a project of the local stack and run against it.

Every GET operation's smoke testcase passes (status and response schema), once the ids its
path needs are filled in as a user would; the schema validator catches an answer that
breaks its schema (a local server that answers wrongly). The stack's own runs may not reach
its API (the outbound guard reserves the stack's ports), so the stored testcases are run as
a developer runs them against `make dev`: by the runner, with private addresses allowed.
"""

from __future__ import annotations

import time

from chalicelib.runner.engine import run_testcases_sync
from tests.e2e.test_catalog import signed_in
from tests.functional.importers.shop_server import ShopServer

RUN_TIMEOUT_SECONDS = 60
# GET routes that answer a project API key, not a session (the document says only "bearer")
NEEDS_AN_API_KEY = {"get_current_key"}


def _run(stack, http, headers, testcase_id: str, environment: str) -> dict:
    """A queued run of one stored testcase (the stack's runs worker calls the API back; an
    inline debug run could not: the local server answers one request at a time)."""
    started = http.post(
        f"{stack.url}/testcases/{testcase_id}/runs",
        headers=headers,
        timeout=10,
        json={"environment": environment},
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        report = http.get(
            f"{stack.url}/reports/{started.json()['report_id']}", headers=headers, timeout=10
        ).json()
        if report["status"] not in ("queued", "running"):
            return report
        time.sleep(0.2)
    raise AssertionError(f"the run of {testcase_id} did not finish in {RUN_TIMEOUT_SECONDS} s")


def _failures(report: dict) -> list:
    return [
        (
            step["name"],
            step.get("error"),
            [v.get("message") for v in step.get("validators") or [] if v.get("result") != "pass"],
        )
        for case in report["testcases"]
        for step in case["steps"]
        if not step["success"]
    ]


def test_hats_own_openapi_imported_and_run(stack, http):
    headers = signed_in(stack, http)
    document = http.get(f"{stack.url}/openapi.json", timeout=10).json()
    project = http.post(
        f"{stack.url}/projects", headers=headers, timeout=10, json={"name": "hat itself"}
    ).json()
    token = headers["Authorization"].removeprefix("Bearer ")
    patched = http.patch(
        f"{stack.url}/projects/{project['id']}",
        headers=headers,
        timeout=10,
        json={"environments": {"local": {"base_url": stack.url, "variables": {"bearer": token}}}},
    )
    assert patched.status_code == 200, patched.text
    # a debugtalk.py, so that reading it answers as documented (without one it is a 404)
    saved = http.put(f"{stack.url}/projects/{project['id']}/debugtalk", timeout=10,
                     data=b"def sign(x):\n    return x\n",
                     headers={**headers, "Content-Type": "text/x-python"})
    assert saved.status_code == 200, saved.text

    imported = http.post(
        f"{stack.url}/projects/{project['id']}/import?format=openapi",
        headers=headers,
        timeout=30,
        json=document,
    )
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert len(body["testcases"]) == sum(len(item) for item in document["paths"].values())
    assert any("bearer" in w["what"] for w in body["report"]["warnings"])
    module_id = body["modules"][0]["id"]
    testcase_id = body["testcases"][0]["id"]
    ids = {"project_id": project["id"], "module_id": module_id, "testcase_id": testcase_id}

    ran, unfillable = [], []
    for summary in body["testcases"]:
        stored = http.get(f"{stack.url}/testcases/{summary['id']}", headers=headers, timeout=10).json()
        testcase = stored["testcase"]
        if testcase["teststeps"][0]["request"]["method"] != "GET":
            continue
        variables = testcase["config"].get("variables") or {}
        request = testcase["teststeps"][0]["request"]
        synthesised = [v for v in (request.get("params") or {}).values() if v in ("string", "")]
        if (set(variables) - set(ids) or synthesised or request["url"].startswith("/hooks/")
                or summary["name"] in NEEDS_AN_API_KEY):
            # a report or a task this project does not have; a required query value made up; a signed
            # hook (/hooks/recipients/confirm needs its link's token, which the document does
            # not declare)
            unfillable.append(summary["name"])
            continue
        testcase["config"]["variables"] = {name: ids[name] for name in variables}
        put = http.put(
            f"{stack.url}/testcases/{summary['id']}", headers=headers, timeout=10, json={"testcase": testcase}
        )
        assert put.status_code == 200, put.text
        stored = http.get(f"{stack.url}/testcases/{summary['id']}", headers=headers, timeout=10).json()
        report = run_testcases_sync([stored["testcase"]], allow_private=True,
                                    environment={"base_url": stack.url, "variables": {"bearer": token}})
        report["status"] = "passed" if report["success"] else "failed"
        assert report["status"] == "passed", (summary["name"], _failures(report))
        ran.append(summary["name"])
    assert len(ran) >= 10, ran
    assert {"get_health", "get_list_projects", "get_me", "get_openapi"} <= set(ran)
    assert {"get_get_report", "get_get_task", "get_report_junit"} <= set(unfillable)


def test_the_schema_validator_catches_a_wrong_answer(stack, http):
    headers = signed_in(stack, http)
    document = http.get(f"{stack.url}/openapi.json", timeout=10).json()
    project = http.post(
        f"{stack.url}/projects", headers=headers, timeout=10, json={"name": "wrong answers"}
    ).json()
    with ShopServer() as wrong:  # answers every unknown path with an echo, not a page of projects
        http.patch(
            f"{stack.url}/projects/{project['id']}",
            headers=headers,
            timeout=10,
            json={"environments": {"wrong": {"base_url": wrong.url, "variables": {"bearer": "x"}}}},
        )
        preview = http.post(
            f"{stack.url}/projects/{project['id']}/import?format=openapi&dry_run=1",
            headers=headers,
            timeout=30,
            json=document,
        )
        assert preview.status_code == 200, preview.text
        listing = next(t["testcase"] for t in preview.json()["testcases"] if t["name"] == "get_list_projects")
        module = http.post(
            f"{stack.url}/projects/{project['id']}/modules",
            headers=headers,
            timeout=10,
            json={"name": "listing"},
        ).json()
        stored = http.post(
            f"{stack.url}/modules/{module['id']}/testcases",
            headers=headers,
            timeout=10,
            json={"testcase": listing},
        ).json()
        report = _run(stack, http, headers, stored["id"], "wrong")
    assert report["status"] == "failed"
    [(_, error, messages)] = _failures(report)
    assert error is None and len(messages) == 1 and "'items' is a required property" in messages[0]
