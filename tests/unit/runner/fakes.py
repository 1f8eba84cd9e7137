"""An in-memory transport: the engine's tests run without sockets."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from chalicelib.runner.engine import run_testcases
from chalicelib.runner.transport import InboundResponse, OutboundRequest

BASE = "https://api.example.test"


def json_response(value: Any, status: int = 200, headers: list | None = None) -> InboundResponse:
    return InboundResponse(
        status, [("Content-Type", "application/json"), *(headers or [])],
        json.dumps(value).encode(),
    )


def echo(request: OutboundRequest) -> InboundResponse:
    """Answers with what it received, as JSON."""
    parts = urlsplit(request.url)
    body = request.body.decode() if request.body else None
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return json_response({
        "method": request.method, "url": request.url, "host": parts.hostname,
        "path": parts.path, "query": dict(parse_qsl(parts.query)),
        "headers": {k.lower(): v for k, v in request.headers}, "body": body, "json": parsed,
        "timeout": request.timeout, "verify": request.verify,
    })


Handler = Callable[[OutboundRequest], Any]


class FakeTransport:
    def __init__(self, handler: Handler = echo) -> None:
        self.handler = handler
        self.sent: list[OutboundRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    async def send(self, request: OutboundRequest) -> InboundResponse:
        self.sent.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let other testcases interleave, as real I/O would
            result = self.handler(request)
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        self.closed = True


def run(docs: list[dict], transport: FakeTransport | None = None, **options: Any) -> dict:
    return asyncio.run(run_testcases(docs, transport=transport or FakeTransport(), **options))


def case(*steps: dict, **config: Any) -> dict:
    """A testcase document with a base_url and the given steps."""
    return {"config": {"name": "case", "base_url": BASE, **config}, "teststeps": list(steps)}


def get(url: str = "/x", name: str = "step", **step: Any) -> dict:
    request = step.pop("request", {})
    return {"name": name, "request": {"method": "GET", "url": url, **request}, **step}
