"""Runs against the local stack as `make dev` runs it: a target API on 127.0.0.1, a run through
the real runs queue and poller, the report polled to passed, the dashboard, a failing
validator's expected/actual, JUnit that parses."""
from __future__ import annotations

import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.test_catalog import signed_in


class _Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        code = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/status/") else 404
        body = json.dumps({"status": code}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def target():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _case(name: str, status: int) -> dict:
    return {"config": {"name": name}, "teststeps": [{
        "name": f"{name} step", "request": {"method": "GET", "url": f"/status/{status}"},
        "validate": [{"eq": ["status_code", 200]}]}]}


def _poll(stack, http, headers, report_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = http.get(f"{stack.url}/reports/{report_id}", headers=headers, timeout=5).json()
        if report["status"] not in ("queued", "running"):
            return report
        time.sleep(0.2)
    raise AssertionError(f"report {report_id} still {report['status']}")


def test_run_poll_to_passed_dashboard_failed_detail_and_junit(stack, http, target):
    headers = signed_in(stack, http)
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": f"runs {os.urandom(2).hex()}", "environments": {"local": {"base_url": target}}}).json()
    module = http.post(f"{stack.url}/projects/{project['id']}/modules", headers=headers, timeout=5,
                       json={"name": "api"}).json()
    good = http.post(f"{stack.url}/modules/{module['id']}/testcases", headers=headers, timeout=5,
                     json={"testcase": _case("good", 200)})
    assert good.status_code == 201, good.text

    started = http.post(f"{stack.url}/projects/{project['id']}/runs", headers=headers, timeout=5)
    assert started.status_code == 202 and started.json()["status"] == "queued"
    report = _poll(stack, http, headers, started.json()["report_id"])
    assert report["status"] == "passed", report
    assert report["tests_run"] == 1 and report["testcases"][0]["steps"][0]["status_code"] == 200

    board = http.get(f"{stack.url}/dashboard", headers=headers, timeout=5).json()
    assert board["days"][-1]["date"] == datetime.now(UTC).date().isoformat()
    assert board["days"][-1]["pass"] == 1 and board["projects"] == 1 and board["testcases"] == 1

    bad = http.post(f"{stack.url}/modules/{module['id']}/testcases", headers=headers, timeout=5,
                    json={"testcase": _case("bad", 404)}).json()
    started = http.post(f"{stack.url}/testcases/{bad['id']}/runs", headers=headers, timeout=5, json={})
    failed = _poll(stack, http, headers, started.json()["report_id"])
    assert failed["status"] == "failed"
    check = failed["testcases"][0]["steps"][0]["validators"][0]
    assert (check["expected"], check["actual"]) == (200, 404)
    junit = http.get(f"{stack.url}/reports/{failed['id']}/junit", headers=headers, timeout=5)
    assert junit.status_code == 200
    root = ET.fromstring(junit.content)
    assert root.find(".//failure") is not None
    listed = http.get(f"{stack.url}/projects/{project['id']}/reports", headers=headers, timeout=5).json()
    assert [r["id"] for r in listed["items"]] == [failed["id"], report["id"]]


def test_ci_webhook_with_the_creation_secret_and_the_projects_email_in_the_outbox(stack, http, target):
    from chalicelib.core.clock import utcnow
    from chalicelib.core.signing import signed_headers

    headers = signed_in(stack, http)
    to = f"qa-{os.urandom(3).hex()}@example.com"
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": f"hooked {os.urandom(2).hex()}", "environments": {"local": {"base_url": target}},
        "notify": {"emails": [to], "when": "failure"}}).json()
    module = http.post(f"{stack.url}/projects/{project['id']}/modules", headers=headers, timeout=5,
                       json={"name": "api"}).json()
    http.post(f"{stack.url}/modules/{module['id']}/testcases", headers=headers, timeout=5,
              json={"testcase": _case("checkout", 500)})
    # An outside address: asked once to confirm; its recipient follows the link and says yes.
    request = _mails_to(stack, http, to, 1)[0]
    token = re.search(r"/hooks/recipients/confirm\?token=([0-9a-f.]{98})", request["body"]).group(1)
    confirmed = http.post(f"{stack.url}/hooks/recipients/confirm?token={token}", timeout=5,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert confirmed.status_code == 200, confirmed.text

    raw = json.dumps({"environment": "local"}).encode()
    url = f"{stack.url}/hooks/projects/{project['id']}/runs"
    signed = signed_headers(project["webhook_secret"], raw, clock=utcnow)
    answer = http.post(url, data=raw, headers=signed, timeout=5)
    assert answer.status_code == 202, answer.text
    assert http.post(url, data=raw, headers=signed, timeout=5).status_code == 401  # the replay
    report = _poll(stack, http, headers, answer.json()["report_id"])
    assert (report["status"], report["trigger"]) == ("failed", "webhook")

    mails = _mails_to(stack, http, to, 2)
    assert len(mails) == 2 and "FAILED" in mails[1]["subject"]
    assert "expected 200, actual 500" in mails[1]["body"]


def _mails_to(stack, http, to: str, count: int) -> list[dict]:
    """The outbox's mails to `to`, once there are `count` of them (or 20 s have passed)."""
    deadline, mails = time.monotonic() + 20, []
    while time.monotonic() < deadline and len(mails) < count:
        outbox = http.get(f"{stack.url}/_local/outbox", timeout=5).json()["items"]
        mails = [m for m in outbox if m["to"] == to]
        time.sleep(0.2)
    return mails


def test_a_debug_step_cannot_reach_the_stacks_own_services(stack, http, target):
    """Loopback is open for the developer's API (`target`), not for the emulator's tables,
    the SMS stand-in or this API itself (issue 14, item 12)."""
    headers = signed_in(stack, http)
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": f"guard {os.urandom(2).hex()}"}).json()
    own = {"emulator": stack.emulator_url, "api": stack.url,
           "emulator, spelt as a number": stack.emulator_url.replace("127.0.0.1", "2130706433")}
    for what, base in [*own.items(), ("target", target)]:
        testcase = {"config": {"name": what, "base_url": base}, "teststeps": [{
            "name": "probe", "request": {"method": "GET", "url": "/status/200"}}]}
        answer = http.post(f"{stack.url}/testcases/debug", headers=headers, timeout=30,
                           json={"project_id": project["id"], "testcase": testcase})
        assert answer.status_code == 200, answer.text
        step = answer.json()["testcases"][0]["steps"][0]
        if what == "target":
            assert step["status_code"] == 200, step
        else:
            assert step["error_type"] == "outbound_refused", (what, step)
            assert "reserved for the platform's own services" in step["error"]
