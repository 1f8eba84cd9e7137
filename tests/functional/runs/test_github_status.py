"""A run GitHub's webhook started posts a commit status with the project's token (runs/github.py):
the token write-only (SSM SecureString, never answered), sent through the runner to a local
stand-in of GitHub's REST API, once per report, retried while GitHub refuses."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.functional.runs import hook_payloads as gh
from tests.functional.runs.conftest import case

TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a$x"  # a "$" too: sent as it is


class FakeGitHub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list[dict] = []
    answer = [201]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": json.loads(body)})
        payload = b'{"id": 1, "state": "success"}'
        self.send_response(self.answer[0])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def github_api(monkeypatch, target):  # target opens loopback to runs (HAT_OUTBOUND_ALLOW)
    from chalicelib.core.settings import reset_settings

    FakeGitHub.received, FakeGitHub.answer = [], [201]
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HAT_GITHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("HAT_PUBLIC_URL", "https://hat.example.com")
    reset_settings()
    yield FakeGitHub
    server.shutdown()
    server.server_close()


def _push(alice, project_id: str, secret: str, delivery: str) -> dict:
    raw = gh.encode(gh.github_push("master"))
    response = alice.client.http.post(f"/hooks/projects/{project_id}/github", body=raw,
                                      headers=gh.github_headers("push", raw, secret, delivery=delivery))
    assert response.status_code == 202, response.body
    return json.loads(response.body)


def test_a_github_run_posts_its_commit_status(alice, bob, target, github_api, run_queue, aws, caplog):
    shop = alice.shop(target.url, [case("ok"), case("broken", status=500)])
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    alice.post(f"/projects/{project_id}/members", {"username": "bobby"})
    assert bob.put(f"/projects/{project_id}/github-token", {"token": TOKEN}).status == 403  # owner only
    assert alice.put(f"/projects/{project_id}/github-token", {"token": "has space"}).status == 400
    answer = alice.put(f"/projects/{project_id}/github-token", {"token": TOKEN})
    assert answer.status == 200 and TOKEN not in json.dumps(answer.body)
    assert alice.get(f"/projects/{project_id}/hook-rules").body["github_token"] is True
    assert TOKEN not in json.dumps(alice.get(f"/projects/{project_id}").body)
    stored = aws("dynamodb").get_item(TableName="hat-dev-projects", Key={"id": {"S": project_id}})["Item"]
    assert TOKEN not in json.dumps(stored)  # in SSM, not in DynamoDB

    queued = _push(alice, project_id, secret, "d-1")
    run_queue()
    (posted,) = github_api.received
    assert posted["path"] == "/repos/Codertocat/Hello-World/statuses/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert posted["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert posted["headers"]["x-github-api-version"] == "2022-11-28"
    assert posted["body"] == {"state": "failure", "context": "hat",
                              "description": "hat: 1/2 testcases passed", "target_url": f"https://hat.example.com/ui/#/reports/{queued['report_id']}"}
    report = alice.get(f"/reports/{queued['report_id']}").body
    assert TOKEN not in json.dumps(report)

    # GitHub refusing: retried by the queue with the jobs' backoff, then posted once.
    github_api.answer[0] = 500
    _push(alice, project_id, secret, "d-2")
    run_queue(must_empty=False, max_rounds=3)
    github_api.answer[0] = 201
    run_queue()
    statuses = [r["body"]["state"] for r in github_api.received]
    assert statuses[0] == "failure" and statuses[-1] == "failure" and len(statuses) >= 3

    # No token: no status; manual runs never post one.
    github_api.received.clear()
    assert alice.delete(f"/projects/{project_id}/github-token").status == 204
    _push(alice, project_id, secret, "d-3")
    alice.post(f"/projects/{project_id}/runs")
    run_queue()
    assert github_api.received == []
    assert TOKEN not in caplog.text and TOKEN[:20] not in caplog.text  # the failures logged above too
