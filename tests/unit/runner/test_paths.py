"""Response paths: status_code, headers.X, cookies.X, body.a.b[0] and JMESPath."""

from __future__ import annotations

import pytest

from chalicelib.runner.paths import (
    PathError,
    ResponseData,
    compile_path,
    evaluate,
    header,
    path_problem,
)

BODY = {
    "data": {"items": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}], "count": 2},
    "key with space": 1, "a.b": "dotted", "nul": None,
}
RESPONSE = ResponseData(
    status_code=201,
    headers={"Content-Type": "application/json", "X-Trace": "t-1"},
    cookies={"sid": "s1"},
    body=BODY,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("status_code", 201),
        ("headers.Content-Type", "application/json"),
        ("headers.content-type", "application/json"),  # case-insensitive
        ('headers."CONTENT-TYPE"', "application/json"),
        ("headers.x-trace", "t-1"),
        ("headers.missing", None),
        ("cookies.sid", "s1"),
        ("cookies.none", None),
        ("cookies", {"sid": "s1"}),
        ("body", BODY),
        ("body.data.count", 2),
        ("body.data.items[0].id", 1),
        ("body.data.items[1].id", 2),
        ("body.data.items[-1].id", 2),
        ("body.data.items[5].id", None),
        ("body.data.items[0].tags[0]", "a"),
        ("body.data.items.0.id", 1),  # HttpRunner 2 style index
        ('body."key with space"', 1),
        ('body."a.b"', "dotted"),
        ("body.nul", None),
        ("body.nope.deeper", None),
        ("body.data.count.more", None),
        ("status_code.x", None),
        ("body.data.items[*].id", [1, 2]),  # JMESPath from here on
        ("body.data.items[?id > `1`].id | [0]", 2),
        ("length(body.data.items)", None),  # does not start with a root: not a path
        ("body.data.items | length(@)", 2),
        ('headers."X-Trace"', "t-1"),
        ("headers | keys(@) | length(@)", 2),
    ],
)
def test_paths(path: str, expected: object) -> None:
    try:
        compiled = compile_path(path)
    except ValueError:
        assert expected is None and not path.startswith(("body", "headers", "status"))
        return
    assert evaluate(compiled, RESPONSE) == expected


def test_simple_paths_skip_jmespath_and_fancy_ones_use_it() -> None:
    assert compile_path("body.data.items[0].id").segments == ("data", "items", 0, "id")
    assert compile_path("body.data.items[*].id").segments is None


@pytest.mark.parametrize("path", ["body.[", "body.items[?", "headers..x"])
def test_invalid_paths_are_value_errors(path: str) -> None:
    with pytest.raises(ValueError, match="not a valid path"):
        compile_path(path)


def test_body_paths_on_a_non_json_body_raise_path_error() -> None:
    text = ResponseData(200, {}, {}, "<html>", "response body is not JSON")
    assert evaluate(compile_path("body"), text) == "<html>"
    with pytest.raises(PathError, match="cannot evaluate body.a: response body is not JSON"):
        evaluate(compile_path("body.a"), text)
    with pytest.raises(PathError):
        evaluate(compile_path("body | length(@)"), text)
    assert evaluate(compile_path("status_code"), text) == 200


@pytest.mark.parametrize(
    ("expr", "flagged"),
    [("status_code", False), ("body.a", False), ("$x", False), ("anything at all", False),
     ("", False), ("42", False), ("status", True), ("Body.a", True), ("headerz.x", True),
     ("bodyx", True), ("json.a", False), ("content", False), ("data.id", True), ("example.com", True)],
)
def test_path_problem(expr: str, flagged: bool) -> None:
    assert (path_problem(expr) is not None) is flagged


def test_headers_are_read_whatever_their_case() -> None:
    headers = {"X-Mixed-Case": "v", "x-empty": ""}
    assert header(headers, "X-Mixed-Case") == "v"
    assert header(headers, "x-mixed-case") == "v"
    assert header(headers, "X-EMPTY") == ""
    assert header(headers, "missing") is None
    assert header(headers, 3) is None
