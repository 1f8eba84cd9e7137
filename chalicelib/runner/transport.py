"""The HTTP transport seam: one request out, one response back, no redirects, no cookies.

The engine does redirects (so the SSRF guard sees every hop) and cookies (one jar per
testcase, while the connection pool is shared by the whole run); a transport only moves
bytes. ``Transport`` is what tests replace; ``aiohttp_transport.AiohttpTransport`` is the
real one, kept in its own module so that importing the engine does not load aiohttp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.runner.errors import RunnerError


@dataclass(slots=True)
class OutboundRequest:
    method: str
    url: str  # absolute, query string included
    headers: list[tuple[str, str]]
    body: bytes | None
    timeout: float  # seconds, for the whole exchange
    verify: bool  # check the TLS certificate


@dataclass(slots=True)
class InboundResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class TransportError(RunnerError):
    """A request that got no HTTP response. ``kind`` is one of: dns, timeout,
    connection_refused, tls, connection, too_large, outbound_refused, invalid_url,
    invalid_request."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Transport(Protocol):
    async def send(self, request: OutboundRequest) -> InboundResponse: ...

    async def aclose(self) -> None: ...


def timeout_message(seconds: float) -> str:
    """"no response within 25 s": a deadline cut to the run's time left reads 24.9999 s
    otherwise; two significant digits below ten seconds, where they still mean something."""
    shown = f"{seconds:.2g}" if seconds < 10 else f"{round(seconds)}"
    return f"no response within {shown} s"
