"""The real transport: one pooled aiohttp session per run, with the SSRF guard in its
resolver. Only ``engine.run_testcases`` imports this module, and only when no transport is
injected, so the HTTP client stays off every other import path."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from chalicelib.runner.errors import OutboundRefused
from chalicelib.runner.ssrf import HostResolver, OutboundPolicy, system_resolver
from chalicelib.runner.transport import (
    InboundResponse,
    OutboundRequest,
    TransportError,
    timeout_message,
)

DEFAULT_POOL_SIZE = 100  # open connections across the run
USER_AGENT = "hat-runner/1.0"
_NO_CONTENT_TYPE = ("Content-Type",)
_READ_CHUNK_BYTES = 64 * 1024
_NO_TIMEOUT = aiohttp.ClientTimeout()
_CLOCK_RESOLUTION_SECONDS = time.get_clock_info("monotonic").resolution


def _skip_auto_headers(request: OutboundRequest) -> tuple[str, ...] | None:
    # aiohttp labels a body without Content-Type application/octet-stream; requests (and
    # so HttpRunner) sends none. Passed only when it matters: it costs aiohttp a slow path.
    if request.body is None:
        return None
    for key, _value in request.headers:
        if key.lower() == "content-type":
            return None
    return _NO_CONTENT_TYPE


class _Refused(OSError):
    """Carries an OutboundRefused through aiohttp, which wraps resolver OSErrors."""


class GuardedResolver(AbstractResolver):
    """Resolves names and hands aiohttp only the addresses the policy allows, so the
    address checked is the address connected to (no rebinding between check and use)."""

    def __init__(self, policy: OutboundPolicy, resolve: HostResolver = system_resolver) -> None:
        self._policy = policy
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._resolve(host, port)
        try:
            allowed = self._policy.filter_resolved(host, addresses, port)
        except OutboundRefused as exc:
            raise _Refused(str(exc)) from None
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in allowed
        ]

    async def close(self) -> None:
        return None


class _Deadlines:
    """Cancels the sends that outlive their timeout, with one timer for a whole run.

    aiohttp's own timeout costs every request a timer handle pushed on the loop's heap, a
    timer context and their bookkeeping: about a tenth of a bare aiohttp request on the
    runner benchmark. Here a send costs two dict operations, and the one timer moves only
    when a deadline comes sooner than the one it is set for. A task runs one send at a
    time (the engine awaits each), so sends are keyed by their task.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: dict[asyncio.Task[Any], float] = {}  # task -> loop time it ends
        self._expired: set[asyncio.Task[Any]] = set()  # cancelled by us, not yet seen
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def watch(self, task: asyncio.Task[Any], seconds: float) -> None:
        deadline = self._loop.time() + seconds
        self._pending[task] = deadline
        if deadline < self._timer_at:
            self._set_timer(deadline)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether this task's send was cancelled for running out of time."""
        return task in self._expired

    def forget(self, task: asyncio.Task[Any]) -> None:
        if self._pending.pop(task, None) is None:
            self._expired.discard(task)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._expire)
        self._timer_at = when

    def _expire(self) -> None:
        self._timer, self._timer_at = None, math.inf
        # the loop runs a timer up to its clock's resolution early: that counts as due
        now = self._loop.time() + _CLOCK_RESOLUTION_SECONDS
        soonest = math.inf
        for task, deadline in list(self._pending.items()):
            if deadline <= now:
                del self._pending[task]
                self._expired.add(task)
                task.cancel()
            elif deadline < soonest:
                soonest = deadline
        if soonest < math.inf:
            self._set_timer(soonest)


class AiohttpTransport:
    """One pooled aiohttp session for a whole run; created on first use, inside the loop."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        resolve: HostResolver = system_resolver,
        max_response_bytes: int,
    ) -> None:
        self._policy = policy
        self._pool_size = pool_size
        self._resolve = resolve
        self._max_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._deadlines: _Deadlines | None = None

    def _get_session(self) -> tuple[aiohttp.ClientSession, _Deadlines]:
        if self._session is None or self._deadlines is None:
            self._deadlines = _Deadlines(asyncio.get_running_loop())
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                resolver=GuardedResolver(self._policy, self._resolve),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # the engine keeps one jar per testcase
                trust_env=False,  # a proxy from the environment would bypass the guard
                headers={"User-Agent": USER_AGENT},
                timeout=_NO_TIMEOUT,  # each send has its deadline (see _Deadlines)
            )
        return self._session, self._deadlines

    async def send(self, request: OutboundRequest) -> InboundResponse:
        session, deadlines = self._get_session()
        try:
            target = URL(request.url)
        except (ValueError, TypeError) as exc:
            raise TransportError("invalid_url", f"invalid URL: {exc}") from None
        # aiohttp connects to IP literals without asking the resolver: check them here, as
        # aiohttp itself parsed the URL
        refusal = self._policy.literal_refusal(target.raw_host or "", target.port)
        if refusal:
            raise TransportError("outbound_refused", refusal)
        task = asyncio.current_task()
        assert task is not None  # send is a coroutine, run by a task
        deadlines.watch(task, request.timeout)
        cancelling = task.cancelling()
        try:
            response = await session.request(
                request.method,
                target,
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
                ssl=request.verify,  # True: the default context, which checks the certificate
                skip_auto_headers=_skip_auto_headers(request),
            )
            # released here rather than by `async with`: the body is read whole before the
            # response is used, so there is nothing for its exit to wait for
            try:
                body = await self._read(response)
            finally:
                response.release()
            return InboundResponse(response.status, list(response.headers.items()), body)
        except asyncio.CancelledError:
            # ours, unless the task was also cancelled from outside (then that wins)
            if deadlines.expired(task) and task.uncancel() <= cancelling:
                raise TransportError("timeout", timeout_message(request.timeout)) from None
            raise
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, _Refused):
                raise TransportError("outbound_refused", str(exc.os_error)) from None
            raise TransportError("dns", f"cannot resolve {exc.host}: {exc.os_error}") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise TransportError("tls", f"TLS certificate error: {exc.certificate_error}") from None
        except aiohttp.ClientSSLError as exc:
            raise TransportError("tls", f"TLS error: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ConnectionRefusedError):
                raise TransportError(
                    "connection_refused", f"connection refused by {exc.host}:{exc.port}"
                ) from None
            raise TransportError("connection", f"cannot connect: {exc}") from None
        except aiohttp.InvalidURL as exc:
            raise TransportError("invalid_url", f"invalid URL: {exc}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError("connection", f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # aiohttp's own check of a header (the engine checks first)
            raise TransportError("invalid_request", f"the request cannot be sent: {exc}") from None
        finally:
            deadlines.forget(task)

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        length = response.content_length
        if length is not None and length > self._max_bytes:
            raise TransportError("too_large", self._too_large())
        if length is not None and "Content-Encoding" not in response.headers:
            return await response.read()  # the common case: the size is known and small
        # chunked or compressed: count what arrives (decompressed) and stop at the limit
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_READ_CHUNK_BYTES):
            size += len(chunk)
            if size > self._max_bytes:
                raise TransportError("too_large", self._too_large())
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> str:
        return f"response body larger than {self._max_bytes} bytes"

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._deadlines is not None:
            self._deadlines.close()
            self._deadlines = None

