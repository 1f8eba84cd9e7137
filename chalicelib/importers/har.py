"""HAR 1.2 recordings (a browser's dev tools, "Save all as HAR") to one testcase.

Entries become steps in order, with what a replay needs and nothing a browser adds:
- left out unless asked (`include_static`): static assets (scripts, styles, images,
  fonts, media, source maps), CORS preflights, and calls to well-known tracking hosts;
  `hosts` keeps only the listed hosts. Every entry left out is counted in the report.
- browser-only headers (HTTP/2 pseudo headers, sec-fetch-*, accept-encoding, conditional
  request headers...) are dropped; a cookie an earlier answer of the recording set is
  not replayed (the run's own cookie jar sends the one this run receives).
- a redirect the browser followed is a step that does not follow it (the next entry is
  the request to its target), each step validates its recorded status and, with
  `body_validators` (har2case's profile), the top-level scalar fields of a JSON answer.
- a value of a JSON answer (or of a token/CSRF response header) that a later request sends
  exactly becomes an extract on the answering step and `${name}` in the later request.
- a multipart body with file parts becomes an `upload`, each file read from `files/<its
  name>` in the project's files (common.ProjectFiles; the report names each path to upload).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from chalicelib.importers.common import (
    MALFORMED,
    Conversion,
    ProjectFiles,
    SourceInvalid,
    as_dict,
    as_list,
    clean_name,
    finish,
    literal,
    map_strings,
    testcase_document,
    upload_text,
    variable_name,
)
from chalicelib.runner.schema import MAX_STEPS

_STATIC_TYPES = {
    "script",
    "stylesheet",
    "image",
    "font",
    "media",
    "manifest",
    "texttrack",
    "ping",
    "csp_violation_report",
    "beacon",
}
_STATIC_MIME = (
    "image/",
    "font/",
    "audio/",
    "video/",
    "text/css",
    "javascript",
    "application/font",
    "application/x-font",
    "application/wasm",
)
_STATIC_EXTENSIONS = (
    ".js",
    ".mjs",
    ".css",
    ".map",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".ico",
    ".webp",
    ".avif",
    ".woff",
    ".woff2",
    ".ttf",
    ".otf",
    ".eot",
    ".mp4",
    ".webm",
    ".mp3",
)
TRACKING_HOSTS = (
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "analytics.google.com",
    "facebook.net",
    "connect.facebook.net",
    "hotjar.com",
    "segment.io",
    "segment.com",
    "mixpanel.com",
    "amplitude.com",
    "clarity.ms",
    "bat.bing.com",
    "sentry.io",
    "newrelic.com",
    "nr-data.net",
    "fullstory.com",
    "intercom.io",
    "stats.g.doubleclick.net",
)
BROWSER_HEADERS = {
    "host",
    "connection",
    "content-length",
    "accept-encoding",
    "cookie",
    "keep-alive",
    "upgrade-insecure-requests",
    "pragma",
    "cache-control",
    "priority",
    "dnt",
    "te",
    "if-none-match",
    "if-modified-since",
    "purpose",
    "sec-gpc",
    "proxy-connection",
    "transfer-encoding",
}
_BROWSER_PREFIXES = (":", "sec-fetch-", "sec-ch-")
_CORRELATED_HEADERS = ("token", "csrf", "xsrf")
MIN_CORRELATED_CHARS = 6
MAX_CORRELATION_VALUES = 5000
MAX_BODY_CHARS = 1_000_000


def looks_like(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("log"), dict)
        and isinstance(document["log"].get("entries"), list)
    )


def _pairs(items: Any) -> list[tuple[str, str]]:
    return [
        (str(i["name"]), str(i.get("value", "")))
        for i in as_list(items)
        if isinstance(i, dict) and isinstance(i.get("name"), str)
    ]


def _host_matches(host: str, names: tuple[str, ...] | list[str]) -> bool:
    return any(host == name or host.endswith("." + name) for name in names)


class _Correlator:
    """Values answers carried, by exact text, and the extract that would read each."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[int, str]] = {}  # value -> (step index, path)
        self.extracts: dict[int, dict[str, str]] = {}
        self.names: dict[str, str] = {}  # value -> variable name, once extracted
        self.taken: set[str] = set()

    def learn(self, index: int, body: Any, headers: list[tuple[str, str]]) -> None:
        stack: list[tuple[Any, str, int]] = [(body, "body", 0)]
        while stack and len(self.values) < MAX_CORRELATION_VALUES:
            value, path, depth = stack.pop()
            if isinstance(value, str) and len(value) >= MIN_CORRELATED_CHARS:
                self.values.setdefault(value, (index, path))
            elif isinstance(value, dict) and depth < 6:
                for key, item in value.items():
                    segment = key if key.isidentifier() else json.dumps(key)
                    stack.append((item, f"{path}.{segment}", depth + 1))
            elif isinstance(value, list) and depth < 6:
                stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value[:50]))
        for name, value in headers:
            if (
                any(mark in name.lower() for mark in _CORRELATED_HEADERS)
                and len(value) >= MIN_CORRELATED_CHARS
            ):
                self.values.setdefault(value, (index, f"headers.{name}"))

    def use(self, value: str, before: int) -> str | None:
        """The ${var} standing for `value` if an earlier answer carried it exactly, else None."""
        found = self.values.get(value)
        if found is None or found[0] >= before:
            return None
        if value not in self.names:
            step, path = found
            base = variable_name(path.rsplit(".", 1)[-1].strip('"').split("[", 1)[0] or "value")
            name, number = base, 1
            while name in self.taken:
                number += 1
                name = f"{base}_{number}"
            self.taken.add(name)
            self.names[value] = name
            self.extracts.setdefault(step, {})[name] = path
        return "${" + self.names[value] + "}"

    def text(self, value: str, before: int) -> str:
        """A request value: the whole of it, or what follows 'Bearer ', correlated if it can be."""
        whole = self.use(value, before)
        if whole is not None:
            return whole
        scheme, space, rest = value.partition(" ")
        if space and scheme.lower() in ("bearer", "token") and (inner := self.use(rest, before)):
            return f"{scheme} {inner}"
        return literal(value)


def _response_body(response: dict[str, Any]) -> Any:
    content = as_dict(response.get("content"))
    text, mime = content.get("text"), str(content.get("mimeType") or "")
    if not isinstance(text, str) or "json" not in mime or len(text) > MAX_BODY_CHARS:
        return None
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
    from chalicelib.importers.loading import load_json

    try:
        return load_json(text)
    except SourceInvalid:
        return None


def _kind(entry: dict[str, Any], url: str) -> str | None:
    """Why an entry is left out by default, or None to keep it."""
    request = as_dict(entry.get("request"))
    if str(request.get("method", "")).upper() == "OPTIONS":
        return "CORS preflights (OPTIONS)"
    parts = urlsplit(url)
    if _host_matches(parts.hostname or "", TRACKING_HOSTS):
        return "tracking calls"
    resource = str(entry.get("_resourceType") or "").lower()
    mime = str(as_dict(as_dict(entry.get("response")).get("content")).get("mimeType") or "").lower()
    if (
        resource in _STATIC_TYPES
        or mime.startswith(_STATIC_MIME)
        or any(m in mime for m in _STATIC_MIME[5:])
        or parts.path.lower().endswith(_STATIC_EXTENSIONS)
    ):
        return "static assets (scripts, styles, images, fonts, media)"
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme or 'non-HTTP'} URLs"
    return None


def convert(
    document: Any,
    *,
    hosts: list[str] | None = None,
    include_static: bool = False,
    body_validators: bool = False,
) -> Conversion:
    if not looks_like(document):
        raise SourceInvalid({"body": "not a HAR file (log.entries)"})
    log = document["log"]
    conversion = Conversion("har")
    report = conversion.report
    pages = as_list(log.get("pages"))
    title = clean_name(
        pages[0].get("title") if pages and isinstance(pages[0], dict) else None, "HAR recording"
    )
    conversion.title = title
    left_out: dict[str, list[str]] = {}
    kept: list[dict[str, Any]] = []
    for entry in log["entries"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            left_out.setdefault("entries without a request", []).append("?")
            continue
        url = str(entry["request"].get("url") or "")
        reason = None if include_static else _kind(entry, url)
        host = urlsplit(url).hostname or ""
        if reason is None and hosts and not _host_matches(host, hosts):
            reason = "other hosts than " + ", ".join(hosts)
        if reason is None and urlsplit(url).scheme not in ("http", "https"):
            reason = "non-HTTP URLs"
        if reason:
            left_out.setdefault(reason, []).append(url)
        else:
            kept.append(entry)
    if len(kept) > MAX_STEPS:
        left_out.setdefault(f"entries past the first {MAX_STEPS} (a testcase's limit)", []).extend(
            str(e["request"].get("url")) for e in kept[MAX_STEPS:]
        )
        kept = kept[:MAX_STEPS]
    for reason, urls in left_out.items():
        shown = ", ".join(u[:80] for u in urls[:3]) + (", ..." if len(urls) > 3 else "")
        report.skip(f"{len(urls)} entr{'y' if len(urls) == 1 else 'ies'}: {reason}", f"left out ({shown})")
    if not kept:
        raise SourceInvalid({"body": "no request in the recording to convert"})

    correlator = _Correlator()
    files = ProjectFiles(report)
    set_by_run: set[str] = set()
    steps: list[dict[str, Any]] = []
    bodies: list[Any] = []
    for index, entry in enumerate(kept):
        request, response = entry["request"], as_dict(entry.get("response"))
        try:
            steps.append(_step(entry, index, kept, correlator, set_by_run, report, files))
        except MALFORMED as error:
            report.skip(f"entry {index + 1}", f"malformed: {error}")
            steps.append(None)
            bodies.append(None)
            continue
        body = _response_body(response)
        bodies.append(body)
        correlator.learn(index, body, _pairs(response.get("headers")))
        for name, _value in _pairs(response.get("cookies")):
            set_by_run.add(name)
        for name, value in _pairs(response.get("headers")):
            if name.lower() == "set-cookie":
                set_by_run.add(value.split("=", 1)[0].strip())
        report.done(
            f"entry {index + 1} ({request.get('method')} {str(request.get('url'))[:80]})",
            f"step {steps[-1]['name']!r}",
        )
    for index, extract in correlator.extracts.items():
        if steps[index] is None:
            continue
        steps[index]["extract"] = extract
        for name, path in extract.items():
            report.done(
                f"a value of entry {index + 1}'s answer ({path})", f"extract {name}, used later as ${name}"
            )
    if body_validators:
        dynamic = set(correlator.names)
        for step, body in zip(steps, bodies, strict=True):
            if step is not None and isinstance(body, dict):
                for key, value in body.items():
                    if (
                        isinstance(value, (str, int, float, bool))
                        and value not in dynamic
                        and key.isidentifier()
                    ):
                        step["validate"].append(
                            {"equal": [f"body.{key}", literal(value) if isinstance(value, str) else value]}
                        )
    steps = [step for step in steps if step is not None]
    if not steps:
        raise SourceInvalid({"body": "no entry of the recording could be read"})
    conversion.add(title, testcase_document(title, steps))
    return finish(conversion)


def _step(
    entry: dict[str, Any],
    index: int,
    entries: list[dict[str, Any]],
    correlator: _Correlator,
    set_by_run: set[str],
    report: Any,
    files: ProjectFiles,
) -> dict[str, Any]:
    request, response = entry["request"], entry.get("response") or {}
    method = str(request.get("method") or "GET").upper()
    url = str(request["url"])
    parts = urlsplit(url)
    what = f"entry {index + 1}"
    path = "/".join(correlator.text(segment, index) if segment else "" for segment in parts.path.split("/"))
    out: dict[str, Any] = {
        "method": method,
        "url": f"{literal(parts.scheme)}://{literal(parts.netloc)}{path or '/'}",
    }
    query = _pairs(request.get("queryString")) or parse_qsl(parts.query, keep_blank_values=True)
    if query:
        if len({k for k, _ in query}) == len(query):
            out["params"] = {literal(k): correlator.text(v, index) for k, v in query}
        else:
            out["url"] += "?" + literal(parts.query)
    headers = {}
    for name, value in _pairs(request.get("headers")):
        lowered = name.lower()
        if lowered in BROWSER_HEADERS or lowered.startswith(_BROWSER_PREFIXES):
            continue
        headers[literal(name)] = correlator.text(value, index)
    cookies = {}
    replayed = []
    for name, value in _pairs(request.get("cookies")):
        if name in set_by_run:
            continue
        cookies[literal(name)] = correlator.text(value, index)
        replayed.append(name)
    if replayed:
        report.warn(what, f"replays recorded cookies {', '.join(replayed)} (set before the recording began)")
    post = request.get("postData") or {}
    mime = str(post.get("mimeType") or "").lower()
    text = post.get("text")
    if "multipart/" in mime:
        form, file_fields = {}, set()
        for param in as_list(post.get("params")):
            if not isinstance(param, dict) or not param.get("name"):
                continue
            name = literal(str(param["name"]))
            if param.get("fileName"):
                part = f"{what}: file part {param['name']!r}"
                form[name] = files.path(str(param["fileName"]), part)
                file_fields.add(name)
            else:
                form[name] = correlator.text(str(param.get("value", "")), index)
        if file_fields:
            out["upload"] = {
                key: value
                for key, value in form.items()
                if key in file_fields or upload_text(value, f"{what}: text part {key!r}", report)
            }
        elif form:
            out["data"] = form
            report.warn(
                what,
                "multipart text parts are sent urlencoded (hat's multipart upload is kept for "
                "forms with files: it reads any value holding a / as a file path)",
            )
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    elif isinstance(text, str) and text:
        parsed = None
        if "json" in mime:
            from chalicelib.importers.loading import load_json

            try:
                parsed = load_json(text)
            except SourceInvalid:
                parsed = None
        if parsed is not None:
            out["json"] = map_strings(parsed, lambda text: correlator.text(text, index), literal)
        else:
            out["data"] = (
                correlator.text(text, index) if "x-www-form-urlencoded" not in mime else literal(text)
            )
    elif post.get("params"):
        out["data"] = {literal(k): correlator.text(v, index) for k, v in _pairs(post["params"])}
    if headers:
        out["headers"] = headers
    if cookies:
        out["cookies"] = cookies
    status = response.get("status")
    redirect = str(response.get("redirectURL") or "")
    if isinstance(status, int) and 300 <= status < 400 and redirect:
        out["allow_redirects"] = False
        target = urljoin(url, redirect)
        following = entries[index + 1]["request"].get("url") if index + 1 < len(entries) else None
        if following != target:
            report.warn(what, f"the browser's redirect to {target[:80]} is not the next entry kept")
    step: dict[str, Any] = {"name": f"{method} {parts.path or '/'}"[:100], "request": out, "validate": []}
    if status == 304:  # answered from the browser's cache; the replay sends no validators for it
        report.warn(what, "recorded 304 Not Modified (a cache revalidation): the step expects 200")
        status = 200
    if isinstance(status, int) and status > 0:
        step["validate"].append({"equal": ["status_code", status]})
    else:
        report.warn(what, "no recorded status (the request failed or was cancelled): no validator")
    return step
