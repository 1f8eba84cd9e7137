"""Hostile input at every route of the running local stack: no answer may be a 5xx (issue 14).

Schemathesis (test_fuzz.py) draws values that fit the document; this throws the classes
that broke the API before: sizes (100,000-character strings, 5,000-digit numbers), encodings
(lone surrogates, invalid UTF-8, BOMs, percent-encoded UTF-8), control characters (NUL,
CR/LF, escapes, bidi marks), depth (JSON 5,000 levels deep, YAML 100,000), NaN / Infinity,
and wrong types, at every route's every field (each property path of its body, nested
ones too), query parameter, path parameter, whole body and header. Seeded
(HAT_HOSTILE_SEED) and time-boxed (HAT_HOSTILE_SECONDS in all, shared by the routes), so it
stays in `make test`; a longer local hunt raises both. Path ids are the caller's real ones,
so requests get past the 404s; routes that would end the fuzzer's session or delete its
world get only cases that cannot (a hostile Authorization or path id).
"""
from __future__ import annotations

import json
import os
import random
import time
from urllib.parse import quote

import pytest
import requests

from tests.e2e.test_fuzz import world  # noqa: F401 - the signed-in user with one of everything

SEED = int(os.environ.get("HAT_HOSTILE_SEED", "14"))
TOTAL_SECONDS = float(os.environ.get("HAT_HOSTILE_SECONDS", "75"))
MAX_FIELDS_PER_OPERATION = 40

HOSTILE_TEXT = {
    "100k chars": "a" * 100_000,
    "5000 digits": "9" * 5000,
    "nul": "a\x00b",
    "crlf": "a\r\nX-Injected: 1",
    "control": "\x1b[2J\x07\x08\x7f\x85",
    "bidi and bom": "\u202e\ufeffabc\u200b",
    "unicode digits": "\u00b2\u0663\uff11",
    "percent utf-8": "abc.%C3%A9",
    "traversal": "../../etc/passwd",
    "long zone": "Europe/" + "x" * 5000,
    "backtracking url": "http://" + "a" * 100_000 + " x",
    "template": "${now(" + "A" * 300 + ")}$var",
    "emoji": "\U0001f600" * 1000,
}
# JSON value texts, spliced into a body where a field's value goes.
HOSTILE_JSON = {
    **{f"string {name}": json.dumps(text) for name, text in HOSTILE_TEXT.items()},
    "lone surrogate": '"\\ud800"',
    "lone low surrogate": '"a\\udc00b"',
    "NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity",
    "1e999999": "1e999999", "huge integer": "9" * 5000, "negative": "-1", "fraction": "0.5",
    "deep array": "[" * 5000 + "]" * 5000,
    "deep object": '{"a":' * 5000 + "1" + "}" * 5000,
    "null": "null", "true": "true", "empty object": "{}", "empty array": "[]",
    "big array": "[" + ",".join(['"x"'] * 20_000) + "]",
    "big object": "{" + ",".join(f'"k{i}":1' for i in range(5000)) + "}",
}
HOSTILE_BODIES = {
    "invalid utf-8": b"\xff\xfe\xfd",
    "utf-8 surrogate": b'{"name": "\xed\xa0\x80"}',
    "bom": b"\xef\xbb\xbf{}",
    "two documents": b'{"a": 1}{"b": 2}',
    "deep json": b"[" * 200_000,
    "deep yaml": b"config: " + b"[" * 100_000,
    "yaml block depth": b"".join(b" " * level + b"- \n" for level in range(300)),
    "nan": b'{"name": NaN}',
    "truncated": b'{"name": "x',
    "nul": b"\x00" * 1000,
    "form": b"a=1&" * 5000,
    "huge string": json.dumps({"name": "a" * 900_000}).encode(),
}
HOSTILE_HEADER_VALUES = {  # what an HTTP client can put on the wire (no bare CR/LF)
    "huge": b"a" * 50_000,
    "non-ascii": "\u00e9\u00b2".encode(),
    "invalid utf-8": b"\xff\xfe",
    "nul": b"a\x00b",
    "control": b"\x1b[2J\x07",
    "5000 digits": b"9" * 5000,
    "unicode digit": "\u00b2".encode(),
}
HEADERS = ["Authorization", "Content-Type", "X-Hat-Timestamp", "X-Hat-Signature", "X-Twilio-Signature",
           "Cookie", "X-Forwarded-For", "Accept", "X-Random-Header"]
EXTRA_QUERY = ["limit", "cursor", "tz", "name", "job"]  # also those the document does not list
# Routes that would end the fuzzer's session, or delete what the other routes need.
SESSION_ENDING = {("POST", "/auth/logout")}


def resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return resolve(options[0], components)
    return schema


def field_paths(schema: dict, components: dict, prefix: tuple = (), depth: int = 0) -> list[tuple]:
    """Every property path of a body schema ('notify', 'emails', []) down to 4 levels."""
    schema = resolve(schema, components)
    paths: list[tuple] = []
    if depth > 4:
        return paths
    if schema.get("type") == "array" and "items" in schema:
        return field_paths(schema["items"], components, prefix + ([],), depth + 1) or [prefix + ([],)]
    for name, child in schema.get("properties", {}).items():
        paths.append(prefix + (name,))
        paths.extend(field_paths(child, components, prefix + (name,), depth + 1))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        paths.append(prefix + ("any_key",))
        paths.extend(field_paths(extra, components, prefix + ("any_key",), depth + 1))
    return paths


def body_with(path: tuple, value_json: str) -> str:
    """The JSON text of a body holding `value_json` at `path` (a list step: a one-item array)."""
    text = value_json
    for step in reversed(path):
        text = f"[{text}]" if step == [] else "{" + json.dumps(step) + ": " + text + "}"
    return text


def cases_for(method: str, path: str, operation: dict, components: dict, ids: dict, rng: random.Random):
    """(description, path, query, headers, body) for one operation, in a seeded order."""
    params = operation.get("parameters", [])
    path_params = [p["name"] for p in params if p["in"] == "path"]
    query_params = sorted({p["name"] for p in params if p["in"] == "query"} | set(EXTRA_QUERY))
    real_path = path
    for name in path_params:
        kind = name.removesuffix("_id") + "s"
        real_path = real_path.replace("{" + name + "}", ids.get(kind, "zz-not-an-id"))
    destructive = method == "DELETE" or (method, path) in SESSION_ENDING
    content = operation.get("requestBody", {}).get("content", {})
    body_schema = content.get("application/json", {}).get("schema")
    takes_body = method in ("POST", "PUT", "PATCH", "DELETE")
    cases: list[tuple] = []
    for name in path_params:
        for label, text in HOSTILE_TEXT.items():
            hostile = path.replace("{" + name + "}", quote(text[:4000], safe=""))
            for other in path_params:
                hostile = hostile.replace("{" + other + "}", ids.get(other.removesuffix("_id") + "s", "x"))
            cases.append((f"path {name}={label}", hostile, {}, {}, None))
    for label, value in HOSTILE_HEADER_VALUES.items():
        cases.append((f"header Authorization={label}", real_path, {}, {"Authorization": value}, None))
    if not destructive:
        for header in HEADERS:
            for label, value in HOSTILE_HEADER_VALUES.items():
                cases.append((f"header {header}={label}", real_path, {}, {header: value},
                              b"{}" if takes_body else None))
        for name in query_params:
            for label, text in HOSTILE_TEXT.items():
                cases.append((f"query {name}={label}", real_path, {name: text[:8000]}, {}, None))
        if takes_body:
            for label, raw in HOSTILE_BODIES.items():
                for media in ("application/json", "application/yaml", "application/x-www-form-urlencoded"):
                    cases.append((f"body {label} as {media}", real_path, {}, {"Content-Type": media}, raw))
        if body_schema:
            paths = field_paths(body_schema, components) or [()]
            rng.shuffle(paths)
            for field in paths[:MAX_FIELDS_PER_OPERATION]:
                for label, value_json in HOSTILE_JSON.items():
                    name = ".".join("[]" if step == [] else step for step in field) or "body"
                    cases.append((f"field {name}={label}", real_path, {}, {},
                                  body_with(field, value_json).encode()))
    rng.shuffle(cases)
    return cases


def test_no_hostile_input_gets_a_5xx_anywhere(stack, world):  # noqa: F811 - the fixture imported above
    rng = random.Random(SEED)
    spec = world["spec"]
    components = spec.get("components", {}).get("schemas", {})
    operations = [(method.upper(), path, operation) for path, ops in spec["paths"].items()
                  for method, operation in ops.items()]
    # Deletes last, children before parents, so the real ids live as long as possible.
    order = ["testcases", "tasks", "modules", "projects"]
    operations.sort(key=lambda op: (op[0] == "DELETE", order.index(op[1].split("/")[1])
                                    if op[0] == "DELETE" and op[1].split("/")[1] in order else -1, op[1]))
    share = TOTAL_SECONDS / len(operations)
    failures: list[str] = []
    sent = 0
    with requests.Session() as http:
        for method, path, operation in operations:
            deadline = time.monotonic() + share
            for label, target, query, headers, body in cases_for(method, path, operation, components,
                                                                world["ids"], rng):
                if time.monotonic() > deadline and sent:
                    break
                all_headers = {"Authorization": world["headers"]["Authorization"],
                               "Content-Type": "application/json", **headers}
                try:
                    response = http.request(method, stack.url + target, params=query, headers=all_headers,
                                            data=body, timeout=60)
                except requests.RequestException as error:  # a crash or a hang is worse than a 500
                    failures.append(f"{method} {path} [{label}]: {type(error).__name__}: {error}"[:400])
                    assert stack.process.poll() is None, "the local stack died:\n" + "\n".join(failures)
                    continue
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{method} {path} [{label}]: {response.status_code} "
                                    f"{response.text[:200]}")
    assert sent > len(operations) * 3, f"only {sent} requests in {TOTAL_SECONDS} s"
    print(f"\n{sent} hostile requests over {len(operations)} operations, seed {SEED}")
    assert not failures, f"{len(failures)} of {sent} answered 5xx or failed:\n" + "\n".join(failures[:30])


@pytest.mark.parametrize("path, value_json", [(("notify", "emails", []), '"\\ud800"'), ((), "NaN")])
def test_body_with_builds_the_json_a_field_path_names(path, value_json):
    assert body_with(path, value_json) == ('{"notify": {"emails": ["\\ud800"]}}' if path else "NaN")
