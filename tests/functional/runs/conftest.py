"""Runs tests: a target API on 127.0.0.1, the runs queue driven by hand, a movable clock."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.functional.catalog.conftest import Api
from tests.functional.messaging import take_queue
from tests.support import FakeClock


class Target(BaseHTTPRequestHandler):
    """GET /status/<n> answers n with {"status": n}; POST /hook records what arrived and
    answers with the status set in `hook_status`; GET /slow/<s> answers 200 after s seconds;
    GET /flaky/<key>/<n> answers 500 to its first n hits, then 200;
    GET/POST /echo?... answers what it got
    (query, headers, JSON body) and a `X-Echo` header repeating the query."""

    protocol_version = "HTTP/1.1"
    received: list[dict] = []
    hits: list[str] = []
    hook_status = [200]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _answer(self, status: int, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _echo(self, body: bytes) -> None:
        from urllib.parse import parse_qsl, urlsplit

        value = {"query": dict(parse_qsl(urlsplit(self.path).query)),
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "json": json.loads(body) if body else None}
        raw = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo", urlsplit(self.path).query)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        if self.path.startswith("/echo"):
            self._echo(b"")
        elif self.path.startswith("/slow/"):  # /slow/<seconds>: answers after that long
            import time

            time.sleep(float(self.path.rsplit("/", 1)[1]))
            self._answer(200, {"status": 200, "slow": True})
        elif self.path.startswith("/flaky/"):  # /flaky/<key>/<n>: 500 for its first n hits, then 200
            failing = self.hits.count(self.path) <= int(self.path.rsplit("/", 1)[1])
            self._answer(500 if failing else 200, {"status": 500 if failing else 200})
        elif self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
            self._answer(code, {"status": code, "ok": code < 400})
        else:
            self._answer(404, {"error": "no such path"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/echo"):
            self._echo(body)
        elif self.path == "/hook":
            self.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self._answer(self.hook_status[0], {})
        else:
            self._answer(404, {})


@pytest.fixture
def target(monkeypatch):
    """The API under test, on loopback, with HAT_OUTBOUND_ALLOW opening loopback only."""
    from chalicelib.core.settings import reset_settings

    Target.received = []
    Target.hits = []
    Target.hook_status = [200]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "127.0.0.0/8,::1/128")
    reset_settings()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.received = Target.received
    server.hits = Target.hits
    server.hook_status = Target.hook_status
    yield server
    server.shutdown()
    server.server_close()


def case(name: str, status: int = 200, expect: int = 200, steps: int = 1) -> dict:
    """A test case whose steps GET /status/<status> and expect <expect>."""
    return {"config": {"name": name},
            "teststeps": [{"name": f"{name} step {i}",
                           "request": {"method": "GET", "url": f"/status/{status}"},
                           "validate": [{"eq": ["status_code", expect]}, {"eq": ["body.status", expect]}]}
                          for i in range(steps)]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 8, 0, tzinfo=UTC))


class RunsApi(Api):
    def shop(self, base_url: str, cases: list[dict] | None = None, name: str = "shop") -> dict:
        """A project whose default environment points at the target, a module, test cases."""
        project = self.project(name, environments={"default": {"base_url": base_url, "variables": {}}})
        module = self.module(project["id"], "orders")
        made = []
        for document in cases if cases is not None else [case("ok")]:
            answer = self.post(f"/modules/{module['id']}/testcases", {"testcase": document})
            assert answer.status == 201, answer.body
            made.append(answer.body)
        return {"project": project, "module": module, "testcases": made}


@pytest.fixture
def runs_api_for(client, make_user):
    return lambda username: RunsApi(client, make_user(username))


@pytest.fixture
def alice(runs_api_for) -> RunsApi:
    return runs_api_for("alice")


@pytest.fixture
def bob(runs_api_for) -> RunsApi:
    return runs_api_for("bobby")


def _poller(app, aws, name: str):
    from infra.local.pollers import pollers_for

    return next(p for p in pollers_for(app, aws("sqs"), "us-east-1") if p.name == name)


def _drain(poller, max_rounds: int, must_empty: bool = True) -> int:
    delivered = 0
    for _ in range(max_rounds):
        got = poller.poll_once(wait_seconds=0)
        if not got:
            return delivered
        delivered += got
    if must_empty:
        raise AssertionError(f"the {poller.queue_name} queue never emptied")
    return delivered


@pytest.fixture
def run_queue(app, aws):
    """Deliver the runs queue's messages to the real handler (as Lambda would) until empty."""
    poller = _poller(app, aws, "run_jobs")
    return lambda max_rounds=100, must_empty=True: _drain(poller, max_rounds, must_empty)


def queue_messages(aws, name: str) -> list[dict]:
    """Take every message off a queue (test-side inspection)."""
    return take_queue(aws("sqs"), name)
