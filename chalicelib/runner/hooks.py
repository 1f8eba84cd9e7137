"""``setup_hooks`` / ``teardown_hooks``, as HttpRunner 3 runs them, over the engine's values.

A hook is ``"${func($request)}"`` (called for its effect) or ``{"var": "${func()}"}`` (its
result becomes ``$var``). A step's setup hooks see ``$request``, a dict they may change in
place (``method``, ``url`` (absolute), ``headers``, ``params`` (added to the URL), ``json``
or ``data``, ``timeout``, ``verify``) before it is sent; its teardown hooks see
``$response`` (``status_code``, ``headers``, ``cookies``, ``body`` (also ``json``),
``text``), which they may change before extract and validate read it. Only the functions of
the project's debugtalk.py make hooks useful, so only its sandbox (or the CLI) runs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from chalicelib.runner.errors import RunnerError
from chalicelib.runner.functions import FunctionContext
from chalicelib.runner.headers import HEADER_NAME, header_value_problem
from chalicelib.runner.paths import ResponseData
from chalicelib.runner.template import render
from chalicelib.runner.testcase import Hook
from chalicelib.runner.transport import OutboundRequest

Lookup = Callable[[str], Any]


def run_hooks(
    hooks: Iterable[Hook], lookup: Lookup, ctx: FunctionContext, define: Callable[[str, Any], None]
) -> None:
    """Call each hook in order; ``define(name, value)`` receives the ``{"var": ...}`` ones."""
    for hook in hooks:
        if isinstance(hook, dict):
            for name, content in hook.items():
                define(name, render(content, lookup, ctx))
        else:
            render(hook, lookup, ctx)


def with_names(lookup: Lookup, names: Mapping[str, Any]) -> Lookup:
    """``lookup`` with ``names`` (``request``, ``response``, hook variables) over it."""

    def find(name: str) -> Any:
        return names[name] if name in names else lookup(name)

    return find


def request_view(request: OutboundRequest) -> tuple[dict[str, Any], str]:
    """The request as HttpRunner hands it to a setup hook, and a snapshot of its body (to
    tell whether a hook changed the body in place)."""
    headers = dict(request.headers)
    view: dict[str, Any] = {
        "method": request.method, "url": request.url, "headers": headers, "params": {},
        "timeout": request.timeout, "verify": request.verify,
    }
    body = request.body
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if body is not None and "json" in content_type:
        try:
            view["json"] = json.loads(body)
        except ValueError:
            view["data"] = body.decode("utf-8", errors="replace")
    elif body is not None:
        view["data"] = body.decode("utf-8", errors="replace")
    return view, _body_snapshot(view)


def _body_snapshot(view: dict[str, Any]) -> str:
    return json.dumps([view.get("json"), view.get("data")], sort_keys=True, default=str)


def request_from_view(
    view: dict[str, Any], original: OutboundRequest, snapshot: str
) -> OutboundRequest:
    """The request to send after the hooks changed its view (bodies re-encoded if changed)."""
    body = original.body
    headers = _checked_headers(dict(view.get("headers") or {}))
    if _body_snapshot(view) != snapshot:
        body = _encoded_body(view, headers)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    url = str(view.get("url") or original.url)
    params = view.get("params") or {}
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode({str(k): str(v) for k, v in params.items()})}"
    return OutboundRequest(
        str(view.get("method") or original.method).upper(), url, list(headers.items()), body,
        float(view.get("timeout") or original.timeout), bool(view.get("verify", original.verify)),
    )


def _encoded_body(view: dict[str, Any], headers: dict[str, str]) -> bytes | None:
    has_type = any(k.lower() == "content-type" for k in headers)
    if view.get("json") is not None:
        if not has_type:
            headers["Content-Type"] = "application/json"
        return json.dumps(view["json"], ensure_ascii=False).encode()
    data = view.get("data")
    if isinstance(data, dict):
        if not has_type:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode({str(k): str(v) for k, v in data.items()}).encode()
    return None if data is None else str(data).encode()


class HookedRequestInvalid(RunnerError):
    """A request a setup hook left in a state HTTP cannot carry."""

    error_type = "invalid_request"


def _checked_headers(headers: Mapping[Any, Any]) -> dict[str, str]:
    # the checks the engine makes of rendered headers: a hook's CR or LF must not start a
    # header of its choosing either
    checked = {}
    for key, value in headers.items():
        name, text = str(key), str(value)
        if not HEADER_NAME.fullmatch(name):
            raise HookedRequestInvalid(f"header name {name[:100]!r} is not an HTTP token")
        problem = header_value_problem(text)
        if problem:
            raise HookedRequestInvalid(f"header {name}: {problem}")
        checked[name] = text
    return checked


class HookResponse:
    """``$response`` in a teardown hook: HttpRunner's ResponseObject attributes."""

    def __init__(self, data: ResponseData, text: str) -> None:
        self.status_code = data.status_code
        self.headers = dict(data.headers)
        self.cookies = dict(data.cookies)
        self.body = data.body
        self.text = text
        self._data = data

    @property
    def json(self) -> Any:
        return self.body

    def data(self) -> ResponseData:
        """What extract and validate read: the original, or the hooks' changes to it."""
        original = self._data
        body_error = original.body_error if self.body is original.body else None
        return ResponseData(self.status_code, self.headers, self.cookies, self.body, body_error)
