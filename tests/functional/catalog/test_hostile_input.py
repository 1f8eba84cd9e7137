"""Issue 14, items 1 and 5 (API side): one request with hostile input gets a 400 naming
what was wrong, never a 500, a crash or a hang (deep JSON/YAML, NaN, lone surrogates,
bad cursors, an absurd ?tz=, a long callback_url)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.functional.catalog.conftest import sample_doc

DEEP = 100_000  # far past json's recursion limit and libyaml's C stack


def test_deep_json_is_a_400_naming_the_limit_on_every_json_route(alice):
    project = alice.project("Shop")
    module = alice.module(project["id"])
    deep = "[" * DEEP + "]" * DEEP
    for path in ("/projects", f"/projects/{project['id']}/modules", f"/modules/{module['id']}/testcases",
                 f"/modules/{module['id']}/testcases/import", "/auth/login", "/tasks"):
        answer = alice.post(path, raw=deep)
        assert answer.status == 400, (path, answer.body)
        assert answer.error["code"] == "too_deep"
        assert "64 levels" in answer.error["message"] and "HAT_MAX_JSON_DEPTH" in answer.error["message"]
    nested = {"a": 1}
    for _ in range(70):
        nested = {"a": nested}
    case = sample_doc("Deep body")
    case["teststeps"][0]["request"]["json"] = nested
    assert alice.post(f"/modules/{module['id']}/testcases", {"testcase": case}).error["code"] == "too_deep"
    case["teststeps"][0]["request"]["json"] = {"brackets in a string": "[[[[" * 100}
    assert alice.post(f"/modules/{module['id']}/testcases", {"testcase": case}).status == 201


def test_deep_yaml_import_is_a_400_not_a_crash(alice):
    module = alice.module(alice.project("Shop")["id"])
    for text in ("config: " + "[" * DEEP, "- " + "{a: " * DEEP,
                 "".join(" " * level + "-\n" for level in range(100))):  # block nesting
        answer = alice.post(f"/modules/{module['id']}/testcases/import", raw=text,
                            content_type="application/yaml")
        assert answer.status == 400, answer.body
        assert answer.error["code"] == "too_deep" and "64 levels" in answer.error["message"]


def test_the_yaml_loader_itself_survives_what_crashed_it():
    """Before the check, libyaml overflowed the C stack (SIGSEGV): run it in a child process."""
    program = textwrap.dedent("""
        from chalicelib.core.parsing import TooDeep, load_yaml_bounded
        try:
            load_yaml_bounded("[" * 200_000)
        except TooDeep as error:
            print(error.status_code, error.code)
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["400", "too_deep"]


@pytest.mark.parametrize("raw", ['{"name": NaN}', '{"name": "x", "description": Infinity}',
                                 '{"name": -Infinity}'])
def test_nan_and_infinity_are_not_json(alice, raw):
    answer = alice.post("/projects", raw=raw)
    assert answer.status == 400 and answer.error["code"] == "invalid_json"
    assert "NaN or Infinity" in answer.error["message"]


@pytest.mark.parametrize("raw", [b'{"name": "\\ud800"}', b'{"\\udc00": 1}', b'{"name": "a\\udbff\\u0041"}',
                                 b'{"name": "\xed\xa0\x80"}'])
def test_lone_surrogates_are_a_400(alice, raw):
    answer = alice.post("/projects", raw=raw)
    assert answer.status == 400 and answer.error["code"] == "invalid_json", answer.body


def test_a_surrogate_pair_and_an_escaped_backslash_u_are_fine(alice):
    assert alice.post("/projects", raw=b'{"name": "\\ud83d\\ude00 shop"}').body["name"] == "\U0001f600 shop"
    assert alice.post("/projects", raw=b'{"name": "\\\\ud800"}').body["name"] == "\\ud800"


@pytest.mark.parametrize("path", ["/projects", "/tasks"])
@pytest.mark.parametrize("cursor", ["abc.%C3%A9", "%C3%A9", "abc." + "x" * 5000, "." * 3000])
def test_a_bad_cursor_is_a_400(alice, path, cursor):
    answer = alice.get(f"{path}?cursor={cursor}")
    assert answer.status == 400, answer.body
    assert answer.error["fields"] == {"cursor": "not a cursor this API issued"}


def test_dashboard_tz_of_any_length_is_a_400(alice):
    for tz in ("A" * 5000, "Europe/" + "x" * 300, "..%2F..%2Fetc", "Nowhere/Atall"):
        answer = alice.get(f"/dashboard?tz={tz}")
        assert answer.status == 400, (tz[:20], answer.body)
        assert "tz" in answer.error["fields"]
    assert alice.get("/dashboard?tz=Asia/Shanghai").status == 200


def test_a_long_callback_url_is_refused_by_its_length(alice):
    """The URL pattern used to backtrack for seconds on this (26 s at 100,000 characters)."""
    url = "http://" + "a" * 100_000 + " x"
    answer = alice.post("/projects", {"name": "Shop", "callback_url": url})
    assert answer.status == 400 and "at most 2000 characters" in answer.error["fields"]["callback_url"]
    project = alice.project("Other")
    assert alice.patch(f"/projects/{project['id']}", {"callback_url": url}).status == 400
    good = "https://ci.example.com/hat?x=1#y"
    assert alice.post("/projects", {"name": "Ok", "callback_url": good}).status == 201
    for bad in ("http://a b", "http:///path", "ftp://x.example.com"):
        assert alice.post("/projects", {"name": "No", "callback_url": bad}).status == 400, bad



@pytest.mark.parametrize("text, content_type", [
    ("config: {name: x, variables: {n: .nan}}\nteststeps: []\n", "application/yaml"),
    ("config: {name: x, variables: {n: -.inf}}\nteststeps: []\n", "application/yaml"),
    ('{"config": {"name": "x", "variables": {"n": NaN}}, "teststeps": []}', "application/json"),
])
def test_an_imported_testcase_with_nan_is_a_400(alice, text, content_type):
    module = alice.module(alice.project("Shop")["id"])
    answer = alice.post(f"/modules/{module['id']}/testcases/import", raw=text, content_type=content_type)
    assert answer.status == 400, answer.body
    assert "NaN" in answer.error["message"]
