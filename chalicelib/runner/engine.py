"""Runs HttpRunner v3 testcases and returns a report made of plain, JSON-serialisable dicts.

Steps of a testcase run in order and share cookies and extracted variables; testcases (each
parameter combination is one) run concurrently, at most ``concurrency`` at a time, over ONE
pooled HTTP client. Whatever goes wrong with a step (DNS, timeout, refused connection, a
refused address, a body that is not JSON, an undefined variable) is recorded on that step
and fails its testcase; the run carries on with the other testcases.

Variable precedence, as in HttpRunner: step variables > variables extracted by earlier steps
> testcase config variables (parameters override these) > environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode, urljoin, urlsplit

from chalicelib.runner.comparators import compare
from chalicelib.runner.cookies import CookieJar
from chalicelib.runner.debugtalk import compare_with
from chalicelib.runner.errors import (
    OutboundRefused,
    PathError,
    RunnerError,
    SubstitutionError,
    TestcaseInvalid,
    TestcaseNotFound,
)
from chalicelib.runner.files import FileMissing, FileSource, looks_like_path, multipart_body, no_files
from chalicelib.runner.files import path_problem as file_path_problem
from chalicelib.runner.functions import FunctionContext
from chalicelib.runner.headers import CONTROL, HEADER_NAME, header_value_problem
from chalicelib.runner.hooks import (
    HookResponse,
    request_from_view,
    request_view,
    run_hooks,
    with_names,
)
from chalicelib.runner.paths import (
    ResponseData,
    check_path,
    compile_path,
    evaluate,
    header,
)
from chalicelib.runner.report import timings
from chalicelib.runner.schema import load_testcase
from chalicelib.runner.ssrf import HostResolver, OutboundPolicy, system_resolver
from chalicelib.runner.template import Scope, expanded_size, render
from chalicelib.runner.testcase import (
    DYNAMIC_CHECK,
    RunConfig,
    RunRequest,
    RunStep,
    RunTestcase,
    RunValidator,
)
from chalicelib.runner.transport import (
    InboundResponse,
    OutboundRequest,
    Transport,
    TransportError,
)

DEFAULT_TIMEOUT_SECONDS = 30.0  # per request, unless the step sets request.timeout
DEFAULT_CONCURRENCY = 10  # testcases in flight at once
DEFAULT_MAX_BODY_CHARS = 64 * 1024  # request/response bodies kept in the report
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # a bigger response fails its step
# What a run's report may keep in all (bodies, URLs, headers, checked values): 500 steps of
# 100 checks of a whole body would otherwise store the body 50 000 times. Past it the run
# goes on and counts, its report keeps the verdicts and omits the values.
DEFAULT_MAX_REPORT_CHARS = 32 * 1024 * 1024
_OMITTED = "(omitted: the report reached its size limit)"
# what the report counts for a step entry and for a check entry besides the big values in
# them (keys, numbers, text up to _SMALL_CHARS, which is not counted one by one)
_STEP_CHARS, _ENTRY_CHARS, _SMALL_CHARS = 300, 200, 64
MAX_REDIRECTS = 10
MAX_REFERENCE_DEPTH = 8  # testcase -> referenced testcase -> ... at most this deep
_RUN, _LOAD, _DONE = "run", "load", "done"  # kinds of jobs of a run
_UNSET = object()  # a report field not reached
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_JSON_START = frozenset(b'{["-0123456789tfn')
_CHARSET = re.compile(r"charset=([\w.:-]+)", re.I)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote_plus leaves as it is
# json.dumps(..., ensure_ascii=False)'s C encoder, made once rather than on every call, and
# without the check for circular references: a rendered body is made of values read from
# JSON, which cannot form a cycle (too deep a value still fails, as with json.dumps)
_ENCODE_JSON = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, json.JSONEncoder().default, json.encoder.encode_basestring,
    None, ": ", ", ", False, False, True,
)
# json.loads without its per-call checks (typeshed does not declare the C scanner)
_SCAN_JSON = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_SHOWN_CHARS = 200  # user text quoted in an error message
_NAME_CHARS = 1000  # a name rendered from variables, as the report keeps it
logger = logging.getLogger(__name__)

ResolveTestcase = Callable[[str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]
Progress = Callable[[int, int], None]


async def run_testcases(
    testcases: Iterable[Mapping[str, Any]],
    *,
    environment: Mapping[str, Any] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    outbound_allow: Iterable[str] = (),
    allow_private: bool = False,
    resolve_testcase: ResolveTestcase | None = None,
    read_file: FileSource = no_files,
    transport: Transport | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    deadline_seconds: float | None = None,
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    max_report_chars: int = DEFAULT_MAX_REPORT_CHARS,
    base_url: str | None = None,
    host_resolver: HostResolver = system_resolver,
    function_context: FunctionContext | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Run testcase documents (HttpRunner v3 dicts) and return the report.

    - ``environment``: ``{"base_url"?: str, "variables"?: {...}}``, a project environment.
      Its variables are the lowest-precedence variables (and what ``${ENV(name)}`` reads);
      its base_url is used by testcases whose config has none.
    - ``base_url``: overrides every testcase's base_url (the CLI's --base-url).
    - ``outbound_allow``: CIDRs/hostnames the SSRF guard lets through (see
      ``ssrf.parse_outbound_allow``); ``allow_private`` lifts the guard (CLI only).
    - ``resolve_testcase(ref)``: returns the document a ``testcase: ref`` step points to
      (sync or async); raise TestcaseNotFound (or KeyError) when there is none, and
      TestcaseInvalid when it cannot be read. Called once per distinct ref per run.
    - ``read_file(path)``: the bytes of a project file an ``upload`` or ``${P(path)}``
      names (sync or async; see files.py); raise FileMissing when there is none. Called
      once per distinct path per run.
    - ``transport``: replaces the pooled aiohttp client (tests); the caller closes it.
    - ``max_body_chars``: bodies longer than this are cut in the report (marked
      ``body_truncated``); ``max_response_bytes``: a bigger response fails its step;
      ``max_report_chars``: what the whole report keeps, past which values are omitted.
    - ``deadline_seconds``: the whole run's budget; steps not started by then fail with
      error_type "deadline" and requests are cut to the time left.
    - ``clock``/``sleep``/``function_context``: injectable time, sleep (retry_interval) and
      the builtins' wall clock, random source.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    env = dict(environment or {})
    env_vars = dict(env.get("variables") or {})
    # ${ENV(name)} reads the run's environment variables, whatever context was injected
    ctx = dataclasses.replace(function_context or FunctionContext(), environment=env_vars)
    policy = OutboundPolicy(outbound_allow, allow_private=allow_private)
    own_transport = transport is None
    if transport is None:
        from chalicelib.runner.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport(
            policy, pool_size=concurrency, resolve=host_resolver,
            max_response_bytes=max_response_bytes,
        )
    run = _Run(
        transport=transport,
        policy=policy,
        env_vars=env_vars,
        env_base_url=str(env.get("base_url") or ""),
        base_url_override=base_url,
        resolve_testcase=resolve_testcase,
        read_file=read_file,
        timeout_seconds=timeout_seconds,
        max_body_chars=max_body_chars,
        max_report_chars=max_report_chars,
        ctx=ctx,
        clock=clock,
        sleep=sleep,
        deadline=None if deadline_seconds is None else clock() + deadline_seconds,
    )
    try:
        return await run.run(list(testcases), concurrency, on_progress)
    finally:
        if own_transport:
            await transport.aclose()


def run_testcases_sync(
    testcases: Iterable[Mapping[str, Any]], **options: Any
) -> dict[str, Any]:
    """``run_testcases`` for callers without an event loop (Lambda handlers, the CLI)."""
    return asyncio.run(run_testcases(testcases, **options))


def _ms(seconds: float) -> float:
    return round(seconds * 10000) / 10  # to 0.1 ms; round(x, 1) costs more on every step


def _decode(body: bytes, content_type: str) -> str:
    match = _CHARSET.search(content_type) if "charset" in content_type else None
    try:
        return body.decode(match.group(1) if match else "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


def _join_url(base_url: str, url: str) -> str:
    if "://" in url and (url.startswith(("http://", "https://")) or _ABSOLUTE.match(url)):
        return url  # any scheme: the outbound guard refuses what is not http(s)
    if not base_url:
        raise RunnerError(f"relative url {url!r} needs a base_url (config, environment or CLI)")
    return f"{base_url.rstrip('/')}/{url.lstrip('/')}"


def _quote(text: str) -> str:
    # urlencode's quoting, without its per-call overhead for the usual plain values
    return text if _UNRESERVED.fullmatch(text) else quote_plus(text)


def _with_query(url: str, params: Mapping[str, Any]) -> str:
    if not params:
        return url
    query = "&".join([f"{_quote(k)}={_quote(v)}" for k, v in _pairs(params)])
    if not query:
        return url
    base, _, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}{query}"
    return f"{joined}#{fragment}" if fragment else joined


def _pairs(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query or form fields as requests (so HttpRunner) sends them: a list repeats its key
    (``ids=1&ids=2``), null values and items are left out; an object goes as JSON."""
    pairs: list[tuple[str, str]] = []
    for key, value in mapping.items():
        name = key if type(key) is str else str(key)
        if type(value) is str:
            pairs.append((name, value))
        elif type(value) is list:
            pairs.extend((name, _param(item)) for item in value if item is not None)
        elif value is not None:
            pairs.append((name, _param(value)))
    return pairs


def _param(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _InvalidRequest(RunnerError):
    """A request that renders to something HTTP cannot carry (a header with CR or LF)."""


class _StepFailed(Exception):
    """An attempt that could not even send its request; carries the report fields."""

    def __init__(self, error: str, error_type: str) -> None:
        super().__init__(error)
        self.error_type = error_type


class _Run:
    def __init__(
        self,
        *,
        transport: Transport,
        policy: OutboundPolicy,
        env_vars: dict[str, Any],
        env_base_url: str,
        base_url_override: str | None,
        resolve_testcase: ResolveTestcase | None,
        read_file: FileSource,
        timeout_seconds: float,
        max_body_chars: int,
        max_report_chars: int,
        ctx: FunctionContext,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        deadline: float | None,
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.env_vars = env_vars
        self.env_base_url = env_base_url
        self.base_url_override = base_url_override
        self.resolve_testcase = resolve_testcase
        self.read_file = read_file
        self._files: dict[str, bytes | FileMissing] = {}  # path -> its bytes, or why not
        self.timeout = timeout_seconds
        self.max_body = max_body_chars
        self._report_left = max_report_chars  # what the report may still keep
        self.ctx = ctx
        self.clock = clock
        self.sleep = sleep
        self.deadline = deadline
        self._refs: dict[str, RunTestcase | str] = {}  # ref -> model, or why it cannot run
        # the project's debugtalk.py names: its functions may be called and be comparators
        self.user_names = frozenset(ctx.user_functions) or None

    # ---- the run ----

    async def run(
        self, docs: list[Mapping[str, Any]], concurrency: int, on_progress: Progress | None
    ) -> dict[str, Any]:
        started = self.clock()
        # a job: (_RUN, model, parameters, parameterised), (_LOAD, doc, index) to load then
        # run when its turn comes, or (_DONE, report) for a testcase that cannot run
        jobs: list[tuple[Any, ...]] = []
        for index, doc in enumerate(docs):
            if not _has_parameters(doc):
                # one testcase: its model is built when its turn comes and dropped when it
                # ends, so a big run holds `concurrency` models, not one per testcase (which
                # the garbage collector would otherwise scan again and again)
                jobs.append((_LOAD, doc, index))
                continue
            try:
                model = load_testcase(doc, self.user_names)
            except TestcaseInvalid as exc:
                jobs.append((_DONE, _invalid_case(doc, index, exc)))
                continue
            try:
                csv_files = {path: await self._file(path) for path in model.config.file_paths()}
                combos = model.config.parameter_combinations(csv_files)
            except RunnerError as exc:  # a missing file, a bad CSV, too many combinations
                jobs.append((_DONE, _failed_case(model.config.name, str(exc))))
                continue
            parameterised = len(combos) > 1
            for combo in combos:
                jobs.append((_RUN, model, combo, parameterised))
        total = len(jobs)
        done = 0
        cases: list[Any] = [None] * total
        # `concurrency` workers take the jobs in order from one iterator: a big run makes
        # that many tasks, not one per testcase waiting on a semaphore
        queue = iter(enumerate(jobs))

        async def worker() -> None:
            nonlocal done
            for position, (kind, *job) in queue:
                try:
                    if kind is _RUN:
                        result = await self._case(*job)
                    elif kind is _LOAD:
                        doc, index = job
                        try:
                            model = load_testcase(doc, self.user_names)
                        except TestcaseInvalid as exc:
                            result = _invalid_case(doc, index, exc)
                        else:
                            result = await self._case(model, {}, False)
                    else:
                        result = job[0]
                except Exception as exc:  # noqa: BLE001 - one testcase's fault stays its own
                    result = _failed_case(f"testcase #{position + 1}", _internal_error(exc))
                cases[position] = result
                done += 1
                if on_progress:
                    on_progress(done, total)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
        successes = sum(1 for case in cases if case["success"])
        return {
            "success": successes == len(cases),
            "tests_run": len(cases),
            "successes": successes,
            "failures": len(cases) - successes,
            "degraded": sum(1 for case in cases if case.get("degraded")),
            "duration_ms": _ms(self.clock() - started),
            "timings": timings(cases),
            "testcases": cases,
        }

    async def _case(
        self, model: RunTestcase, params: dict[str, Any], parameterised: bool
    ) -> dict[str, Any]:
        started = self.clock()
        if self.deadline is not None and started > self.deadline:
            # not even its variables are rendered: that too is work the deadline bounds
            steps = [_deadline_step(step.name) for step in model.teststeps]
            return {"name": model.config.name, "success": False, "duration_ms": 0.0,
                    "steps": steps}
        try:
            config_values, base_url, name = self._config(model.config, params, "")
        except RunnerError as exc:  # an undefined variable, a bad call, no base_url
            return _failed_case(model.config.name, str(exc))
        if parameterised and "$" not in model.config.name:
            shown = ", ".join(f"{k}={_cut(str(v))}" for k, v in params.items())
            name = f"{name} [{shown}]"
        config = model.config
        hooked: dict[str, Any] = {}
        if config.setup_hooks:  # before the first step; their {"var": ...} values are config's
            try:
                run_hooks(config.setup_hooks, self._lookup(config_values), self.ctx,
                          hooked.__setitem__)
            except RunnerError as exc:
                return _failed_case(name, f"config.setup_hooks: {exc}")
            config_values.update(hooked)
        own = frozenset(model.config.variables) | frozenset(params) | frozenset(hooked)
        steps, extracted, success = await self._steps(
            model, config_values, own, base_url, CookieJar(), ()
        )
        case: dict[str, Any] = {"name": name, "success": success}
        if config.teardown_hooks:
            try:
                run_hooks(config.teardown_hooks, self._lookup({**config_values, **extracted}),
                          self.ctx, extracted.__setitem__)
            except RunnerError as exc:
                case.update(success=False, error=f"config.teardown_hooks: {exc}")
        if params:
            case["parameters"] = self._kept_values(params)
        if success and model.config.export:
            exported, missing = _export(model.config.export, extracted, config_values)
            case["export"] = self._kept_values(exported)
            if missing:
                case["success"] = False
                case["error"] = f"export: {', '.join(missing)} not defined by any step"
        if case["success"] and _any_degraded(steps):
            case["degraded"] = True
        case["duration_ms"] = _ms(self.clock() - started)
        case["steps"] = steps
        return case

    def _lookup(self, values: Mapping[str, Any]) -> Callable[[str], Any]:
        def find(name: str) -> Any:
            if name in values:
                return values[name]
            raise SubstitutionError(f"variable ${name} is not defined")

        return find

    def _config(
        self, config: RunConfig, overrides: Mapping[str, Any], caller_base_url: str
    ) -> tuple[dict[str, Any], str, str]:
        """Config variables (over the environment, under ``overrides``), base_url, name."""
        raw = {k: v for k, v in config.variables.items() if k not in overrides}
        scope = Scope(raw, {**self.env_vars, **overrides}, self.ctx)
        values = scope.resolve_all()
        base_url = self.base_url_override or str(scope.render(config.base_url) or "")
        base_url = base_url or caller_base_url or self.env_base_url
        name = (config.name if "$" not in config.name
                else _cut(str(scope.render(config.name)), _NAME_CHARS))
        return values, base_url, name

    async def _steps(
        self,
        model: RunTestcase,
        config_values: dict[str, Any],
        own: frozenset[str],
        base_url: str,
        jar: CookieJar,
        chain: tuple[str, ...],
    ) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
        """Run the steps of a testcase. ``config_values`` are its variables over the
        environment's; ``own`` names those that are not the environment's alone."""
        extracted: dict[str, Any] = {}
        # what steps see below their own variables: config values overlaid by extracted
        # ones, kept up to date as steps extract (not merged again for every step)
        visible = dict(config_values)
        reports: list[dict[str, Any]] = []
        failed = False
        for step in model.teststeps:
            if failed:
                reports.append(_skipped(step.name))
                continue
            try:
                if step.request is not None:
                    report = await self._request_step(
                        step, step.request, model.config, visible, base_url, extracted, jar
                    )
                else:
                    report = await self._testcase_step(
                        step, visible, own, base_url, extracted, jar, chain
                    )
            except Exception as exc:  # noqa: BLE001 - a runner bug fails its step, not the run
                report = _crashed_step(step.name, exc)
            reports.append(report)
            failed = not report["success"]
        return reports, extracted, not failed

    # ---- a request step ----

    async def _request_step(
        self,
        step: RunStep,
        request: RunRequest,
        config: RunConfig,
        visible: dict[str, Any],
        base_url: str,
        extracted: dict[str, Any],
        jar: CookieJar,
    ) -> dict[str, Any]:
        # the attempts and their exchange (send, cookies, redirects) run here, not in
        # coroutines of their own: every level between the task and the socket is crossed
        # again at each suspension. Every attempt's report is kept only when the step may retry.
        attempts: list[dict[str, Any]] | None = [] if step.retry_times else None
        step_extracted: dict[str, Any] = {}
        name = step.name
        for attempt in range(step.retry_times + 1):
            if attempt:
                interval = step.retry_interval
                if self.deadline is not None:  # no waiting past the deadline for nothing
                    interval = max(0.0, min(interval, self.deadline - self.clock()))
                await self.sleep(interval)
            scope = Scope(step.variables, visible, self.ctx)
            if "$" in step.name:
                try:
                    name = _cut(str(scope.render(step.name)), _NAME_CHARS)
                except SubstitutionError:
                    name = step.name
            report: dict[str, Any] = {
                "name": step.name, "success": False, "status_code": None, "elapsed_ms": 0.0,
                "validators": [],
            }
            if attempts is not None:
                attempts.append(report)
            step_extracted = {}
            if request.upload:
                await self._load_uploads(request.upload, scope)
            prepared = self._prepare(report, request, config, base_url, scope)
            if prepared is not None and step.setup_hooks:
                prepared = self._setup_hooks(report, step, scope, prepared)
            if prepared is None:
                break  # the request cannot even be built: retrying changes nothing
            outbound, cookies = prepared
            started = self.clock()
            # every hop is checked by the guard and given the jar's cookies
            set_cookies: dict[str, str] = {}
            current = outbound
            sent = None
            try:
                for _hop in range(MAX_REDIRECTS + 1):
                    hop = self._outgoing(current, jar, cookies)
                    sent = sent or hop
                    try:
                        response = await self.transport.send(hop)
                    except TransportError as exc:
                        raise _StepFailed(str(exc), exc.kind) from None
                    following = self._incoming(
                        current, response, jar, set_cookies, request.allow_redirects
                    )
                    if following is None:
                        break
                    current = following
                else:
                    raise _StepFailed(
                        f"more than {MAX_REDIRECTS} redirects", "too_many_redirects"
                    )
            except _StepFailed as exc:
                report.update(
                    elapsed_ms=_ms(self.clock() - started),
                    request=self._request_report(outbound, scope),
                    error=str(exc),
                    error_type=exc.error_type,
                )
                if exc.error_type in ("outbound_refused", "invalid_url"):
                    break
                continue
            report["elapsed_ms"] = _ms(self.clock() - started)
            step_extracted = self._check(
                report, step, scope, outbound, current.url, response, set_cookies, sent
            )
            _response_time(report, step, config)
            if report["success"]:
                break
        final = report  # the last attempt's
        final["name"] = name
        if attempts is not None:
            final["attempts"] = [dict(a) for a in attempts]  # each as it was, no nesting
        if step_extracted:
            extracted.update(step_extracted)
            visible.update(step_extracted)
        return final

    def _prepare(
        self,
        report: dict[str, Any],
        request: RunRequest,
        config: RunConfig,
        base_url: str,
        scope: Scope,
    ) -> tuple[OutboundRequest, list[tuple[str, str]]] | None:
        """The request to send and the step's cookies; None (and the report says why)
        when it cannot be sent."""
        remaining = None if self.deadline is None else self.deadline - self.clock()
        if remaining is not None and remaining <= 0:
            report.update(error=_DEADLINE_BEFORE_STEP, error_type="deadline")
            return None
        try:
            outbound, cookies = self._build(request, config, base_url, scope)
        except _InvalidRequest as exc:
            report.update(error=str(exc), error_type="invalid_request")
            return None
        except FileMissing as exc:
            report.update(error=str(exc), error_type="file")
            return None
        except RunnerError as exc:  # an undefined variable, a bad call, no base_url
            report.update(error=str(exc), error_type=exc.error_type)
            return None
        except (TypeError, ValueError) as exc:  # a debugtalk.py value JSON cannot carry
            report.update(error=f"the request cannot be built: {exc}", error_type="user_code")
            return None
        if remaining is not None:
            outbound.timeout = min(outbound.timeout, remaining)
        return outbound, cookies

    def _setup_hooks(
        self,
        report: dict[str, Any],
        step: RunStep,
        scope: Scope,
        prepared: tuple[OutboundRequest, list[tuple[str, str]]],
    ) -> tuple[OutboundRequest, list[tuple[str, str]]] | None:
        """The request after the step's setup hooks changed it; None (the report says why)
        when a hook failed."""
        outbound, cookies = prepared
        view, snapshot = request_view(outbound)
        try:
            run_hooks(step.setup_hooks, with_names(scope.lookup, {"request": view}), self.ctx,
                      scope.define)
            # what a hook makes of the URL meets the guard as every hop does (_outgoing)
            changed = request_from_view(view, outbound, snapshot)
        except RunnerError as exc:
            report.update(request=self._request_report(outbound, scope),
                          error=f"setup_hooks: {exc}",
                          error_type=exc.error_type)
            return None
        except (TypeError, ValueError) as exc:  # the hook made the request unsendable
            report.update(request=self._request_report(outbound, scope),
                          error=f"setup_hooks: the request cannot be sent: {exc}",
                          error_type="user_code")
            return None
        return changed, cookies

    def _check(
        self,
        report: dict[str, Any],
        step: RunStep,
        scope: Scope,
        outbound: OutboundRequest,
        url: str,
        response: InboundResponse,
        set_cookies: dict[str, str],
        sent: OutboundRequest,
    ) -> dict[str, Any]:
        """Fill the report of an attempt that got a response; returns the extracted values."""
        report["request"] = self._request_report(sent, scope)
        data, text = _response_data(response, set_cookies)
        data.elapsed_ms = report["elapsed_ms"]
        report["status_code"] = response.status
        report["response"] = self._with_body(
            {"status_code": response.status, "headers": data.headers}, text
        )
        if url != outbound.url:
            report["response"]["url"] = url
        errors: list[tuple[str, str]] = []
        if step.teardown_hooks:
            response_view = HookResponse(data, text)
            try:
                run_hooks(step.teardown_hooks,
                          with_names(scope.lookup, {"response": response_view}), self.ctx,
                          scope.define)
            except RunnerError as exc:
                errors.append((f"teardown_hooks: {exc}", exc.error_type))
            data = response_view.data()
        step_extracted: dict[str, Any] = {}
        deadline = self.deadline
        for var, path in step.extract.items():
            if deadline is not None and self.clock() > deadline:
                errors.append(("run deadline exceeded during this step's extracts", "deadline"))
                break
            try:
                if "$" in path:  # body.args.$key: the variable's value, then the path
                    path = str(scope.render(path))
                step_extracted[var] = evaluate(compile_path(path), data)
            except PathError as exc:
                errors.append((f"extract {var}: {exc}", exc.kind))
            except (SubstitutionError, ValueError) as exc:  # ValueError: not a path
                errors.append((f"extract {var}: {exc}", "variable"))
        if step.extract:
            report["extracted"] = self._kept_values(step_extracted)

        if step_extracted:
            scope.overlay(step_extracted)  # this step's checks see its extracts first
        lookup = scope.lookup
        self._report_left -= _STEP_CHARS + _ENTRY_CHARS * len(step.validators)
        results = []
        for validator in step.validators:
            # each check is bounded; between them the run's deadline is kept even when the
            # checks themselves are what takes the time
            if deadline is not None and self.clock() > deadline:
                errors.append(("run deadline exceeded during this step's checks", "deadline"))
                break
            results.append(self._validate(validator, data, lookup, errors))
        report["validators"] = results
        if errors:
            report["error"] = "; ".join(message for message, _ in errors)
            report["error_type"] = errors[0][1]
        success = not errors
        for result in results:
            if result["result"] != "pass":
                success = False
                break
        report["success"] = success
        return step_extracted

    def _build(
        self, request: RunRequest, config: RunConfig, base_url: str, scope: Scope
    ) -> tuple[OutboundRequest, list[tuple[str, str]]]:
        # the hot path of every step: strings without "$" skip the template machinery
        lookup, ctx = scope.lookup, self.ctx
        url = request.url
        if "$" in url:
            url = str(render(url, lookup, ctx))
        url = _join_url(base_url, url)
        if request.params:
            url = _with_query(url, render(request.params, lookup, ctx))
        # lower-cased name -> (name as written, value); the transport adds Host, User-Agent,
        # Accept, Accept-Encoding and Content-Length where the testcase sets none
        headers: dict[str, tuple[str, str]] = {}
        for source in (config.headers, request.headers):
            for key, value in source.items():
                if "$" in key:
                    key = str(render(key, lookup, ctx))
                    if not HEADER_NAME.fullmatch(key):
                        raise _InvalidRequest(f"header name {_shown(key)} is not an HTTP token")
                if type(value) is not str or "$" in value:
                    value = render(value, lookup, ctx)  # None stays None
                    if value is None:  # a null header: dropped, the config's one included
                        headers.pop(key.lower(), None)
                        continue
                    if not isinstance(value, str):
                        value = str(value)
                # CR or LF would start a header of the value's choosing; isprintable() is
                # the one cheap test the usual value passes (tab and non-ASCII go on)
                if not value.isprintable() and CONTROL.search(value):
                    raise _InvalidRequest(f"header {key}: {header_value_problem(value)}")
                headers[key.lower()] = (key, value)
        body: bytes | None = None
        if request.has_json:
            try:
                body = "".join(_ENCODE_JSON(render(request.json_body, lookup, ctx), 0)).encode()
            except RecursionError:  # variables nesting lists in lists past JSON's depth
                raise _InvalidRequest("the json body is nested too deeply to send") from None
            headers.setdefault("content-type", ("Content-Type", "application/json"))
        elif isinstance(request.data, dict):
            form = render(request.data, lookup, ctx)
            body = urlencode(_pairs(form)).encode()
            headers.setdefault(
                "content-type", ("Content-Type", "application/x-www-form-urlencoded")
            )
        elif request.data is not None:
            body = str(render(request.data, lookup, ctx)).encode()
        elif request.upload is not None:
            body, content_type = multipart_body(self._upload_parts(render(request.upload, lookup, ctx)))
            # the boundary is this body's: a content type the testcase set cannot be kept
            headers["content-type"] = ("Content-Type", content_type)
        cookies = (
            [(str(k), str(v)) for k, v in render(request.cookies, lookup, ctx).items()]
            if request.cookies else []
        )
        outbound = OutboundRequest(
            request.method,
            url,
            list(headers.values()),
            body,
            request.timeout or self.timeout,
            request.verify if request.verify is not None else config.verify,
        )
        return outbound, cookies

    async def _file(self, path: str) -> bytes:
        """A project file's bytes, read once per run; FileMissing (also remembered) when
        there is none."""
        found = self._files.get(path)
        if found is None:
            try:
                data = self.read_file(path)
                if inspect.isawaitable(data):
                    data = await data
                found = bytes(data)
            except FileMissing as exc:
                found = exc
            except LookupError:
                found = FileMissing(f"no file {path!r} in this project")
            self._files[path] = found
        if isinstance(found, FileMissing):
            raise found
        return found

    async def _load_uploads(self, upload: Mapping[str, Any], scope: Scope) -> None:
        """Reads the files an upload names, before the (synchronous) request is built."""
        for value in upload.values():
            try:
                value = scope.render(value) if isinstance(value, str) and "$" in value else value
            except RunnerError:
                continue  # building the request reports it
            if looks_like_path(value) and value not in self._files:
                with contextlib.suppress(FileMissing):
                    await self._file(value)

    def _upload_parts(self, upload: Mapping[str, Any]) -> list[tuple[str, str | tuple[str, bytes]]]:
        parts: list[tuple[str, str | tuple[str, bytes]]] = []
        for field, value in upload.items():
            if looks_like_path(value):
                problem = file_path_problem(value)
                if problem:
                    raise FileMissing(f"upload.{field}: {problem}")
                found = self._files.get(value)
                if isinstance(found, FileMissing):
                    raise FileMissing(f"upload.{field}: {found}")
                if found is None:  # cannot happen: _load_uploads read every path
                    raise FileMissing(f"upload.{field}: {value!r} was not read")
                parts.append((str(field), (value.rsplit("/", 1)[-1], found)))
            else:
                parts.append((str(field), "" if value is None else str(value)))
        return parts

    def _outgoing(
        self,
        request: OutboundRequest,
        jar: CookieJar,
        step_cookies: list[tuple[str, str]],
    ) -> OutboundRequest:
        """A hop about to be sent: checked by the guard, with its cookies."""
        try:
            url = self.policy.check_url(request.url)
        except OutboundRefused as exc:
            raise _StepFailed(str(exc), "outbound_refused") from None
        if url is not request.url:  # a numeric host respelt as the address it names
            request = dataclasses.replace(request, url=url)
        return _with_cookies(request, jar.pairs_for(request.url), step_cookies)

    def _incoming(
        self,
        request: OutboundRequest,
        response: InboundResponse,
        jar: CookieJar,
        set_cookies: dict[str, str],
        allow_redirects: bool,
    ) -> OutboundRequest | None:
        """Takes a hop's cookies; the next hop, or None when this response is the last."""
        cookie_headers: list[str] | None = None
        location = None
        for key, value in response.headers:
            if key[:1] not in "SsLl":  # most headers are neither: skip lower()
                continue
            lowered = key.lower()
            if lowered == "set-cookie":
                if cookie_headers is None:
                    cookie_headers = []
                cookie_headers.append(value)
            elif lowered == "location":
                location = value
        if cookie_headers:
            set_cookies.update(jar.update(request.url, cookie_headers))
        if not (allow_redirects and location and response.status in _REDIRECT_STATUSES):
            return None
        return _redirected(request, response.status, urljoin(request.url, location))

    def _validate(
        self,
        validator: RunValidator,
        data: ResponseData,
        lookup: Callable[[str], Any],
        errors: list[tuple[str, str]],
    ) -> dict[str, Any]:
        expected: Any = _UNSET
        actual: Any = _UNSET
        try:
            raw = validator.expect
            rendered = "$" in raw if isinstance(raw, str) else isinstance(raw, (dict, list))
            expected = render(raw, lookup, self.ctx) if rendered else raw
            path = validator.path  # compiled when the testcase was read
            if path is DYNAMIC_CHECK:
                actual = self._actual(validator.check, data, lookup)
            elif path is None:
                actual = validator.check  # compared as written, as in HttpRunner
            else:
                actual = evaluate(path, data)
            function = validator.compare
            if function is not None:
                reason = function(actual, expected)
            else:  # a debugtalk.py function named as the comparator
                user = self.ctx.user_functions.get(validator.comparator)
                reason = (
                    compare_with(user, actual, expected, validator.message) if user is not None
                    else compare(validator.comparator, actual, expected)
                )
        except SubstitutionError as exc:
            reason = str(exc)
        except PathError as exc:
            reason = str(exc)
            errors.append((str(exc), exc.kind))
        message = validator.message
        if actual is not _UNSET and not reason and not message:  # the usual entry, at once
            # numbers and short text are counted in the entry's _ENTRY_CHARS
            kind = type(expected)
            if kind is str and len(expected) > _SMALL_CHARS or kind is list or kind is dict:
                expected = self._kept(expected)
            kind = type(actual)
            if kind is str and len(actual) > _SMALL_CHARS or kind is list or kind is dict:
                actual = self._kept(actual)
            return {"check": validator.check, "comparator": validator.comparator,
                    "expected": expected, "actual": actual, "result": "pass"}
        entry: dict[str, Any] = {"check": validator.check, "comparator": validator.comparator}
        if expected is not _UNSET:
            entry["expected"] = self._kept(expected)
        if actual is not _UNSET:
            entry["actual"] = self._kept(actual)
        entry["result"] = "fail" if reason else "pass"
        if reason or message:
            entry["message"] = ": ".join(m for m in (message, reason) if m)
        return entry

    def _actual(self, check: Any, data: ResponseData, lookup: Callable[[str], Any]) -> Any:
        if not isinstance(check, str):
            return check
        if "$" in check:
            check = render(check, lookup, self.ctx)
            if not isinstance(check, str):
                return check
        try:
            path = check_path(check)
        except ValueError as exc:
            raise SubstitutionError(str(exc)) from None
        if path is None:
            return check  # HttpRunner compares anything else as a literal
        return evaluate(path, data)

    def _request_report(self, request: OutboundRequest, scope: Scope) -> dict[str, Any]:
        body = None if request.body is None else request.body.decode("utf-8", errors="replace")
        url = request.url
        headers = dict(request.headers)
        # URL and headers are the document's text plus what the scope substituted: only
        # when that was much are they counted one by one (and cut, past max_body_chars)
        if scope.substituted() > _SMALL_CHARS or len(url) > self.max_body:
            url = self._kept(url)
            headers = {key: self._kept(value) for key, value in headers.items()}
        entry = {"method": request.method, "url": url, "headers": headers}
        return self._with_body(entry, body)

    def _with_body(self, into: dict[str, Any], text: str | None) -> dict[str, Any]:
        """Put a body into a report entry, cut at max_body_chars (or what the report has
        left) and marked if cut."""
        if text is None:
            into["body"] = text
            return into
        size = len(text)
        left = self._report_left
        if size <= self.max_body and size <= left:
            into["body"] = text
            self._report_left = left - size
            return into
        limit = min(self.max_body, max(left, 0))
        if size <= limit:
            into["body"] = text
            self._report_left -= size
        else:
            into.update(body=text[:limit], body_truncated=True, body_chars=len(text))
            self._report_left -= limit
        return into

    def _kept_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """``_kept`` of every value; the same dict when each is a number or short text."""
        for value in values.values():
            kind = type(value)
            if kind is str and len(value) > _SMALL_CHARS or kind is list or kind is dict:
                return {name: self._kept(item) for name, item in values.items()}
        return values

    def _kept(self, value: Any) -> Any:
        """A value as the report keeps it: as it is, unless it is bigger than a body would
        be kept, or the report is full (a check of the whole body, repeated by every
        validator of every step, would otherwise be stored once per check)."""
        kind = type(value)
        limit = self.max_body
        if kind is str:
            size = len(value)
            if size > limit:
                value, size = f"{value[:limit]}... ({size} characters)", limit
        elif kind is dict or kind is list:
            size = expanded_size(value, limit)
            if size > limit:
                noun = "an object" if kind is dict else "a list"
                return f"({noun} of over {limit} characters as JSON)"
        else:
            return value  # a number, true, false or null
        if size > self._report_left:
            return _OMITTED
        self._report_left -= size
        return value

    # ---- a testcase step (a referenced testcase) ----

    async def _testcase_step(
        self,
        step: RunStep,
        visible: dict[str, Any],
        own: frozenset[str],
        base_url: str,
        extracted: dict[str, Any],
        jar: CookieJar,
        chain: tuple[str, ...],
    ) -> dict[str, Any]:
        ref = str(step.testcase)
        report: dict[str, Any] = {
            "name": step.name, "success": False, "testcase": ref, "status_code": None,
            "elapsed_ms": 0.0, "validators": [],
        }
        if ref in chain:
            report.update(
                error=f"testcase reference cycle: {' -> '.join([*chain, ref])}",
                error_type="reference",
            )
            return report
        if len(chain) >= MAX_REFERENCE_DEPTH:
            report.update(
                error=f"testcases nested more than {MAX_REFERENCE_DEPTH} deep",
                error_type="reference",
            )
            return report
        model = await self._load_reference(ref)
        if isinstance(model, str):
            report.update(error=model, error_type="reference")
            return report
        try:
            scope = Scope(step.variables, visible, self.ctx)
            # as HttpRunner: the caller's variables (step > extracted > its config) override
            # the referenced config's; the environment's stay below them
            overrides = {k: scope.lookup(k) for k in (*own, *extracted) if k in visible}
            overrides.update({k: scope.lookup(k) for k in step.variables})
            sub_values, sub_base_url, _ = self._config(model.config, overrides, base_url)
        except RunnerError as exc:  # an undefined variable, a bad call, no base_url
            report.update(error=str(exc), error_type="variable")
            return report
        sub_own = frozenset(model.config.variables) | frozenset(overrides)
        steps, sub_extracted, success = await self._steps(
            model, sub_values, sub_own, sub_base_url, jar, (*chain, ref)
        )
        report["steps"] = steps
        report["elapsed_ms"] = round(sum(s.get("elapsed_ms") or 0 for s in steps), 1)
        report["success"] = success
        if success and _any_degraded(steps):
            report["degraded"] = True
        if success:
            # as HttpRunner: the step's export and the referenced config's, both
            names = list(dict.fromkeys([*model.config.export, *step.export]))
            exported, missing = _export(names, sub_extracted, sub_values)
            report["exported"] = self._kept_values(exported)
            extracted.update(exported)
            visible.update(exported)
            if missing:
                report["success"] = False
                report["error"] = f"export: {', '.join(missing)} not defined by {ref}"
                report["error_type"] = "reference"
        return report

    async def _load_reference(self, ref: str) -> RunTestcase | str:
        """The referenced testcase, or why it cannot run (cached for the run)."""
        if ref not in self._refs:
            self._refs[ref] = await self._resolve(ref)
        return self._refs[ref]

    async def _resolve(self, ref: str) -> RunTestcase | str:
        if self.resolve_testcase is None:
            return f"testcase {ref!r} is referenced but this run cannot look testcases up"
        try:
            doc = self.resolve_testcase(ref)
            if inspect.isawaitable(doc):
                doc = await doc
            model = load_testcase(doc, self.user_names)
        except TestcaseNotFound as exc:  # its message may say where it was looked for
            detail = str(exc)
            return f"referenced testcase {ref!r} not found" + (f" ({detail})" if detail else "")
        except LookupError:
            return f"referenced testcase {ref!r} not found"
        except TestcaseInvalid as exc:
            return f"referenced testcase {ref!r} is invalid: {exc}"
        if model.config.parameters:
            return f"referenced testcase {ref!r} has parameters; only top-level ones can"
        return model


def _cut(text: str, limit: int = _SHOWN_CHARS) -> str:
    """User text shown in a name or an error message, cut to a readable length."""
    return text if len(text) <= limit else text[:limit] + "..."


def _shown(text: str) -> str:
    return repr(_cut(text))


def _has_parameters(doc: Any) -> bool:
    config = doc.get("config") if isinstance(doc, Mapping) else None
    return isinstance(config, Mapping) and "parameters" in config


def _invalid_case(doc: Any, index: int, exc: TestcaseInvalid) -> dict[str, Any]:
    name = (doc.get("config") or {}).get("name") if isinstance(doc, Mapping) else None
    return _failed_case(str(name or f"testcase #{index + 1}"), str(exc))


def _failed_case(name: str, error: str) -> dict[str, Any]:
    return {"name": name, "success": False, "error": error, "duration_ms": 0.0, "steps": []}


def _internal_error(exc: BaseException) -> str:
    # logged in full for the operators; the report names only the kind of failure, never a
    # message that could carry the worker's paths or internals
    logger.exception("runner: unexpected error", exc_info=exc)
    if isinstance(exc, RecursionError):
        return "the runner could not finish: values nested too deeply"
    if isinstance(exc, MemoryError):
        return "the runner could not finish: out of memory"
    return f"the runner could not finish (internal error: {type(exc).__name__})"


def _unsent(name: str, error: str, error_type: str) -> dict[str, Any]:
    """The report of a step that sent nothing."""
    return {
        "name": name, "success": False, "status_code": None, "elapsed_ms": 0.0,
        "validators": [], "error": error, "error_type": error_type,
    }


def _crashed_step(name: str, exc: BaseException) -> dict[str, Any]:
    return _unsent(name, _internal_error(exc), "internal")


_DEADLINE_BEFORE_STEP = "run deadline exceeded before this step"


def _deadline_step(name: str) -> dict[str, Any]:
    return _unsent(name, _DEADLINE_BEFORE_STEP, "deadline")


def _response_time(report: dict[str, Any], step: RunStep, config: RunConfig) -> None:
    """A step's response-time limits, its own or else its testcase's: slower than
    ``max_response_ms`` fails it (a check on elapsed_ms in its validators), slower than
    ``degraded_response_ms`` (and passing) marks it ``degraded``."""
    most = step.max_response_ms
    if most is None:
        most = config.max_response_ms
    slow = step.degraded_response_ms
    if slow is None:
        slow = config.degraded_response_ms
    if most is None and slow is None:
        return
    elapsed = report["elapsed_ms"]
    if most is not None:
        within = elapsed <= most
        entry = {"check": "elapsed_ms", "comparator": "le", "expected": most, "actual": elapsed,
                 "result": "pass" if within else "fail"}
        if not within:
            entry["message"] = f"max_response_ms: {elapsed} > {most}"
            report["success"] = False
        report["validators"].append(entry)
    if slow is not None and report["success"] and elapsed > slow:
        report["degraded"] = True


def _any_degraded(steps: list[dict[str, Any]]) -> bool:
    for step in steps:
        if step.get("degraded"):
            return True
    return False


def _skipped(name: str) -> dict[str, Any]:
    return {**_unsent(name, "skipped: an earlier step failed", "skipped"), "skipped": True}


def _export(
    names: Iterable[str], extracted: Mapping[str, Any], config_values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    exported: dict[str, Any] = {}
    missing: list[str] = []
    for name in names:
        if name in extracted:
            exported[name] = extracted[name]
        elif name in config_values:
            exported[name] = config_values[name]
        else:
            missing.append(name)
    return exported, missing


def _with_cookies(
    request: OutboundRequest,
    jar_pairs: list[tuple[str, str]],
    step_cookies: list[tuple[str, str]],
) -> OutboundRequest:
    if not jar_pairs and not step_cookies:
        return request
    merged = dict(jar_pairs)
    merged.update(step_cookies)  # the step's own cookies win over the jar's
    headers = [(k, v) for k, v in request.headers if k.lower() != "cookie"]
    headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in merged.items())))
    return OutboundRequest(
        request.method, request.url, headers, request.body, request.timeout, request.verify
    )


def _redirected(request: OutboundRequest, status: int, url: str) -> OutboundRequest:
    """The next hop, with the method and body changes browsers and requests make."""
    method, body, headers = request.method, request.body, request.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-type",
                                                                    "content-length")]
    if urlsplit(url).netloc.lower() != urlsplit(request.url).netloc.lower():
        # credentials are for the host they were written for, not wherever it redirects
        headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
    return OutboundRequest(method, url, headers, body, request.timeout, request.verify)


def _parse_json(text: str) -> Any:
    """``json.loads(text)``, with the usual whole, clean document read in one scan."""
    try:
        value, end = _SCAN_JSON(text, 0)
    except StopIteration:
        end = -1  # not even a start: json.loads says why
    return value if end == len(text) else json.loads(text)


def _response_data(
    response: InboundResponse, set_cookies: dict[str, str]
) -> tuple[ResponseData, str]:
    headers = dict(response.headers)
    if len(headers) != len(response.headers):  # a repeated header: its values, joined
        headers = {}
        for key, value in response.headers:
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    content_type = header(headers, "Content-Type") or ""
    raw = response.body
    body: Any = None
    error: str | None = None
    text = _decode(raw, content_type)
    stripped = raw.lstrip() if raw[:1].isspace() else raw
    if stripped:
        if stripped[0] in _JSON_START:
            try:
                body = _parse_json(text)
            except ValueError as exc:
                body, error = text, f"response body is not valid JSON: {exc}"
            except RecursionError:
                body, error = text, "response body is JSON nested too deeply to read"
        else:
            body = text
            error = f"response body is not JSON (Content-Type: {content_type or 'none'})"
    return ResponseData(response.status, headers, set_cookies, body, error), text
