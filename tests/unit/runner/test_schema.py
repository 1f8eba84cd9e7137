"""Save-time checks of HttpRunner v3 testcase documents."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.runner.comparators import ALIASES
from chalicelib.runner.errors import RunnerError, TestcaseInvalid
from chalicelib.runner.schema import (
    MAX_DOCUMENT_DEPTH,
    load_testcase,
    parse_testcase_text,
    validate_testcase,
)

REPO_ROOT = Path(__file__).resolve().parents[3]

GOOD = {
    "config": {
        "name": "login flow",
        "base_url": "https://api.example.com",
        "variables": {"user": "alice", "n": 3},
        "headers": {"X-Client": "hat"},
        "verify": True,
        "export": ["token"],
    },
    "teststeps": [
        {
            "name": "login",
            "variables": {"pw": "${md5($user)}"},
            "request": {
                "method": "post",
                "url": "/login",
                "params": {"v": 1},
                "headers": {"Accept": "application/json"},
                "json": {"user": "$user", "password": "$pw"},
                "cookies": {"c": "1"},
                "timeout": 5,
                "allow_redirects": False,
                "verify": False,
            },
            "extract": {"token": "body.data.token", "ctype": "headers.Content-Type"},
            "validate": [
                {"eq": ["status_code", 200]},
                {"len_gt": ["body.data.token", 10, "a real token"]},
                {"check": "headers.Content-Type", "comparator": "startswith",
                 "expect": "application/json"},
                {"check": "cookies.session", "expected": "x"},
            ],
            "retry_times": 3,
            "retry_interval": 0.5,
        },
        {"name": "use", "testcase": "shared/profile", "variables": {"t": "$token"},
         "export": ["profile_id"]},
    ],
}


def errors_of(doc: object) -> dict[str, str]:
    with pytest.raises(TestcaseInvalid) as info:
        validate_testcase(doc)
    assert isinstance(info.value, RunnerError)
    return info.value.fields


def with_step(**step: object) -> dict:
    doc = copy.deepcopy(GOOD)
    doc["teststeps"][0] = {"name": "s", "request": {"method": "GET", "url": "/"}, **step}
    return doc


def test_full_document_is_accepted_and_normalised() -> None:
    model = validate_testcase(GOOD)
    step = model.teststeps[0]
    assert step.request.method == "POST"
    assert step.request.has_json()
    assert [v.comparator for v in step.validators] == [
        "equal", "length_greater_than", "startswith", "equal",
    ]
    assert step.validators[1].message == "a real token"
    assert step.validators[3].expect == "x"
    assert model.references() == ["shared/profile"]
    doc = model.to_document()
    assert doc["teststeps"][0]["validate"][1] == {
        "length_greater_than": ["body.data.token", 10, "a real token"]
    }
    assert doc["teststeps"][0]["request"]["json"] == {"user": "$user", "password": "$pw"}
    json.dumps(doc)
    # the normalised document is itself valid and stable
    assert validate_testcase(doc).to_document() == doc


@pytest.mark.parametrize(
    "spelling", sorted(alias for name, aliases in ALIASES.items() for alias in (name, *aliases))
)
def test_every_comparator_and_alias_is_accepted_in_both_forms(spelling: str) -> None:
    expect = "int" if spelling == "type_match" else 1
    modern = validate_testcase(with_step(validate=[{spelling: ["status_code", expect]}]))
    legacy = validate_testcase(
        with_step(validate=[{"check": "status_code", "comparator": spelling, "expect": expect}])
    )
    canonical = modern.teststeps[0].validators[0].comparator
    assert canonical in ALIASES
    assert spelling in (canonical, *ALIASES[canonical])
    assert legacy.teststeps[0].validators[0].comparator == canonical


def test_validators_with_structured_expectations() -> None:
    model = validate_testcase(with_step(validate=[
        {"eq": ["body.items", [1, {"a": 2}]]}, {"contains": [["x"], "x"]},
        {"eq": ["body", {"k": "v"}, "whole body"]},
    ]))
    assert [v.expect for v in model.teststeps[0].validators] == [[1, {"a": 2}], "x", {"k": "v"}]


def test_legacy_validator_defaults_to_eq() -> None:
    model = validate_testcase(with_step(validate=[{"check": "status_code", "expect": 200}]))
    assert model.teststeps[0].validators[0].comparator == "equal"


@pytest.mark.parametrize(
    ("validator", "needle"),
    [
        ({"my_cmp": ["status_code", 1]}, "custom comparators need user Python"),
        ({"eq": ["status_code"]}, "[check, expected]"),
        ({"eq": ["status_code", 1, "m", "x"]}, "[check, expected]"),
        ({"eq": "status_code"}, "[check, expected]"),
        ({"eq": ["status_code", 1], "ne": ["body", 2]}, "one comparator per item"),
        ({"check": "status_code"}, "no expect"),
        ({"check": "status_code", "expect": 1, "extra": 2}, "unknown keys"),
        ({"eq": ["status_code", 1, 5]}, "message (third element) must be text"),
        ({"regex_match": ["body", "(unclosed"]}, "invalid regular expression"),
        ({"type_match": ["body", "integr"]}, "unknown type"),
        ("eq status_code 200", "a validator is"),
    ],
)
def test_bad_validators_are_refused_at_their_path(validator: object, needle: str) -> None:
    fields = errors_of(with_step(validate=[{"eq": ["status_code", 200]}, validator]))
    assert list(fields) == ["teststeps[0].validate[1]"]
    assert needle in fields["teststeps[0].validate[1]"]


@pytest.mark.parametrize(
    ("check", "suggestion"),
    [
        ("status", "status_code"),
        ("statuscode", "status_code"),
        ("Status_Code", "status_code"),
        ("status_cod", "status_code"),
        ("status_code2", "status_code2"),  # starts like status_code: flagged, no rewrite
        ("header.Content-Type", "headers.Content-Type"),
        ("cookie.sid", "cookies.sid"),
        ("response.data.id", "body.data.id"),
        ("resp.id", "body.id"),
        ("text", "body"),
        ("bdy.id", "body.id"),
        ("bodyx.a", "body"),
    ],
)
def test_check_paths_that_look_like_typos_are_flagged(check: str, suggestion: str) -> None:
    fields = errors_of(with_step(validate=[{"eq": [check, 1]}]))
    message = fields["teststeps[0].validate[0]"]
    assert "is not a response path" in message
    if check != "status_code2" and check != "bodyx.a":
        assert f"did you mean {suggestion!r}" in message


def test_dotted_path_without_a_root_is_flagged() -> None:
    fields = errors_of(with_step(validate=[{"eq": ["data.items[0].id", 1]}]))
    assert "write body.data.items[0].id" in fields["teststeps[0].validate[0]"]


@pytest.mark.parametrize(
    "check",
    [
        "status_code", "headers.Content-Type", 'headers."content-type"', "cookies.sid", "body",
        "body.a.b[0]", "body[0].id", "body.items[-1]", "body.items | length(@)",
        "body.items[?id > `1`].name", "$var", "${md5($x)}", "expected literal", "", 200, None,
    ],
)
def test_valid_checks_and_literals_pass(check: object) -> None:
    validate_testcase(with_step(validate=[{"eq": [check, 1]}]))


def test_invalid_jmespath_after_a_root_is_flagged() -> None:
    fields = errors_of(with_step(validate=[{"eq": ["body.items[?", 1]}]))
    assert "is not a valid path" in fields["teststeps[0].validate[0]"]


def test_extract_paths_must_be_response_paths() -> None:
    fields = errors_of(
        with_step(extract={"a": "response.token", "b": "token", "c": "body.ok", "d-e": "body"})
    )
    assert "did you mean 'body.token'" in fields["teststeps[0].extract.a"]
    assert "extract paths start with" in fields["teststeps[0].extract.b"]
    assert "is not a variable name" in fields["teststeps[0].extract.d-e"]
    assert "teststeps[0].extract.c" not in fields


@pytest.mark.parametrize(
    ("where", "field"),
    [("config", "setup_hooks"), ("step", "setup_hooks"), ("step", "teardown_hooks"),
     ("step", "validate_script")],
)
def test_features_needing_user_code_are_refused_by_name(where: str, field: str) -> None:
    doc = with_step()
    target = {"config": doc["config"], "step": doc["teststeps"][0],
              "request": doc["teststeps"][0]["request"]}[where]
    target[field] = ["${setup()}"]
    fields = errors_of(doc)
    path = {"config": "config", "step": "teststeps[0]", "request": "teststeps[0].request"}[where]
    message = fields[f"{path}.{field}"]
    assert "not support" in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("${gen_token()}", "not a safe builtin"),
        ("/users/${get_uid($user)}", "not a safe builtin"),
        ("${md5(${inner()})}", "${inner()} is not a safe builtin"),  # the inner call counts
        ("${P(data/users.csv)}", "CSV file"),
        ("${parameterize(users.csv)}", "CSV file"),
        ("${md5(a=1, 2)}", "positional argument after keyword"),
    ],
)
def test_function_calls_outside_the_safe_builtins_are_refused(text: str, needle: str) -> None:
    doc = with_step()
    doc["teststeps"][0]["request"]["url"] = text
    fields = errors_of(doc)
    assert needle in fields["teststeps[0].request.url"]


def test_safe_builtins_anywhere_are_accepted() -> None:
    doc = with_step(variables={"a": "${get_timestamp()}", "b": "${random_string(8)}"})
    doc["teststeps"][0]["request"]["headers"] = {"X-Sig": "${hmac_sha256($key, $a)}"}
    doc["config"]["base_url"] = "${ENV(BASE_URL)}"
    validate_testcase(doc)


def test_variables_from_a_function_are_refused() -> None:
    doc = copy.deepcopy(GOOD)
    doc["config"]["variables"] = "${gen_variables()}"
    fields = errors_of(doc)
    assert "variables computed by a function need user Python" in fields["config.variables"]


def test_unknown_fields_are_refused_with_a_suggestion() -> None:
    doc = with_step(valdiate=[{"eq": ["status_code", 200]}])
    doc["config"]["base_ulr"] = "x"
    fields = errors_of(doc)
    assert "did you mean 'validate'" in fields["teststeps[0].valdiate"]
    assert "did you mean 'base_url'" in fields["config.base_ulr"]


def test_every_problem_is_reported_at_once() -> None:
    doc = {
        "config": {"name": ""},
        "teststeps": [
            {"name": "a", "request": {"method": "FETCH"}},
            {"name": "b"},
            {"name": "c", "request": {"method": "GET", "url": "/"}, "testcase": "x"},
            {"name": "d", "testcase": "x", "validate": [{"eq": ["status_code", 1]}]},
            {"name": "e", "request": {"method": "GET", "url": "/"}, "export": ["x"]},
            {"name": "f", "request": {"method": "GET", "url": "/", "json": {}, "data": "x"}},
            {"name": "g", "request": {"method": "GET", "url": "/", "data": [1]},
             "retry_times": -1, "retry_interval": 10_000},
        ],
    }
    fields = errors_of(doc)
    assert fields["config.name"].startswith("String should have at least 1")
    assert "method must be one of" in fields["teststeps[0].request.method"]
    assert fields["teststeps[0].request.url"] == "required"
    assert "exactly one" in fields["teststeps[1]"]
    assert "exactly one" in fields["teststeps[2]"]
    assert "validate applies to request steps" in fields["teststeps[3]"]
    assert "export applies to testcase steps" in fields["teststeps[4]"]
    assert "either json or data" in fields["teststeps[5].request"]
    assert "data is text" in fields["teststeps[6].request.data"]
    assert "greater than or equal to 0" in fields["teststeps[6].retry_times"]
    assert "less than or equal to 300" in fields["teststeps[6].retry_interval"]


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ([{"config": {"name": "x"}}, {"test": {}}], "HttpRunner 2 format"),
        ("config: x", "a mapping with config and teststeps"),
        ({"config": {"name": "x"}}, "required"),
        ({"config": {"name": "x"}, "teststeps": []}, "at least 1"),
        ({"config": {"name": "x"}, "teststeps": [], "testcases": []}, "testsuites"),
    ],
)
def test_document_level_problems(doc: object, needle: str) -> None:
    fields = errors_of(doc)
    assert any(needle in message for message in fields.values())


def test_parameters_inline_lists_and_pairs() -> None:
    doc = copy.deepcopy(GOOD)
    doc["config"]["parameters"] = {"user-pw": [["a", "1"], ["b", "2"]], "agent": ["ios", "web"]}
    validate_testcase(doc)  # the models accept it too
    assert load_testcase(doc).config.parameter_combinations() == [
        {"user": "a", "pw": "1", "agent": "ios"},
        {"user": "a", "pw": "1", "agent": "web"},
        {"user": "b", "pw": "2", "agent": "ios"},
        {"user": "b", "pw": "2", "agent": "web"},
    ]


def test_no_parameters_is_one_combination() -> None:
    assert load_testcase(GOOD).config.parameter_combinations() == [{}]


@pytest.mark.parametrize(
    ("parameters", "needle"),
    [
        ({"user": "${get_users()}"}, "listed inline"),
        ({"user": "${P(../users.csv)}"}, "no empty, '.' or '..' segment"),
        ({"user": "${P(/etc/users.csv)}"}, "relative to the project root"),
        ({"user": []}, "non-empty list"),
        ({"user-pw": [["a", "1"], ["b"]]}, "user-pw[1]: each item is a list of 2"),
        ({"user-": [["a", "1"]]}, "is not a variable name"),
        ({"a": list(range(100)), "b": list(range(100))}, "parameter combinations"),
        ("${gen()}", "mapping of name"),
    ],
)
def test_bad_parameters(parameters: object, needle: str) -> None:
    doc = copy.deepcopy(GOOD)
    doc["config"]["parameters"] = parameters
    fields = errors_of(doc)
    assert needle in fields["config.parameters"]


def test_non_json_values_are_refused() -> None:
    doc = with_step()
    doc["config"]["variables"] = {"when": object()}
    assert "JSON types only" in errors_of(doc)["config.variables.when"]


def test_non_text_keys_are_refused() -> None:
    doc = with_step()
    doc["config"]["variables"] = {1: "x"}
    assert "is not text" in errors_of(doc)["config.variables"]


def test_deep_nesting_is_refused() -> None:
    deep: object = 1
    for _ in range(100):
        deep = [deep]
    doc = with_step()
    doc["config"]["variables"] = {"deep": deep}
    fields = errors_of(doc)
    assert any("nested deeper" in m for m in fields.values())


# ---- parse_testcase_text ----

YAML_DOC = """
config:
  name: yaml case
  variables:
    day: 2026-01-01
    flag: yes
  base_url: https://api.example.com
common: &common
  method: GET
  url: /x
teststeps:
  - name: one
    request:
      <<: *common
    validate:
      - eq: [status_code, 200]
"""


def test_yaml_is_parsed_safely_and_dates_stay_text() -> None:
    doc = parse_testcase_text(YAML_DOC, "application/yaml; charset=utf-8")
    assert doc["config"]["variables"] == {"day": "2026-01-01", "flag": True}
    assert doc["teststeps"][0]["request"] == {"method": "GET", "url": "/x"}
    json.dumps(doc)
    # the extra top-level key is the document's business: validate_testcase refuses it
    assert "common" in errors_of(doc)


@pytest.mark.parametrize("ctype", ["application/json", "application/vnd.api+json", "JSON"])
def test_json_is_parsed(ctype: str) -> None:
    media = ctype if "/" in ctype else "application/json"
    assert parse_testcase_text(json.dumps(GOOD), media) == GOOD


@pytest.mark.parametrize(
    ("text", "ctype", "needle"),
    [
        ("{", "application/json", "invalid JSON at line 1"),
        ("[1, 2]", "application/json", "a mapping"),
        ("a: [", "text/yaml", "invalid YAML at line"),
        ("!!python/object/apply:os.system ['true']", "application/x-yaml", "invalid YAML"),
        ("- 1\n- 2", "application/yaml", "a mapping"),
        ("", "application/yaml", "a mapping"),
        ("a: 1\n---\nb: 2", "application/yaml", "invalid YAML"),
        ("config: {}", "text/plain", "unsupported content type"),
        ("[" * 100_000, "application/json", "JSON"),
    ],
)
def test_unparsable_text_is_refused(text: str, ctype: str, needle: str) -> None:
    with pytest.raises(TestcaseInvalid) as info:
        parse_testcase_text(text, ctype)
    assert needle in info.value.fields[""]


@pytest.mark.parametrize(
    ("text", "ctype"),
    [
        ("a: " + "[" * (MAX_DOCUMENT_DEPTH + 1) + "]" * (MAX_DOCUMENT_DEPTH + 1), "application/yaml"),
        ("".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DOCUMENT_DEPTH + 1)) + "  " * 70 + "v: 1",
         "text/yaml"),
        ("[" * 200_000, "application/yaml"),  # libyaml's composer would recurse per level in C
        ('{"a": ' * (MAX_DOCUMENT_DEPTH + 1) + "1" + "}" * (MAX_DOCUMENT_DEPTH + 1), "application/json"),
    ],
)
def test_text_nested_past_the_limit_is_refused_before_any_loader(text: str, ctype: str) -> None:
    with pytest.raises(TestcaseInvalid) as info:
        parse_testcase_text(text, ctype)
    assert f"nested more than {MAX_DOCUMENT_DEPTH} levels deep" in info.value.fields[""]


def test_text_nested_to_the_limit_still_parses() -> None:
    inner = "[" * (MAX_DOCUMENT_DEPTH - 1) + "]" * (MAX_DOCUMENT_DEPTH - 1)
    assert parse_testcase_text(f"a: {inner}", "application/yaml")["a"]
    assert parse_testcase_text(f'{{"a": {inner}}}', "application/json")["a"]


def test_yaml_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(TestcaseInvalid) as info:
        parse_testcase_text("\n".join(lines), "application/yaml")
    assert "more than" in info.value.fields[""]


def test_recursive_yaml_is_bounded() -> None:
    with pytest.raises(TestcaseInvalid):
        parse_testcase_text("a: &a [*a]", "application/yaml")


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [("chalicelib.runner.schema", "'httpx', 'aiohttp', 'yaml', 'jmespath', 'asyncio'"),
     ("chalicelib.runner.engine", "'httpx', 'aiohttp', 'yaml'")],
)
def test_imports_stay_light(module: str, forbidden: str) -> None:
    """The API's cold path imports schema; the HTTP client loads only when a run starts."""
    code = (
        f"import sys, {module};"
        f"bad = [m for m in sys.modules if m.split('.')[0] in ({forbidden})];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_weight_is_accepted_as_httprunner_3_writes_it() -> None:
    """Issue 17, item 4: `weight` is a v3 field (load tests); it has no effect on a run."""
    model = validate_testcase({"config": {"name": "w", "weight": 3},
                               "teststeps": [{"name": "s", "request": {"method": "GET",
                                                                       "url": "/x"}}]})
    assert model.config.weight == 3
    with pytest.raises(TestcaseInvalid):
        validate_testcase({"config": {"name": "w", "weight": 0},
                           "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/x"}}]})


def test_httprunner_2_shapes_that_3_still_reads_are_accepted() -> None:
    """Issue 17, item 8: extract as a list of one-key mappings; assert/msg validators."""
    model = validate_testcase({"config": {"name": "v2"}, "teststeps": [{
        "name": "s", "request": {"method": "GET", "url": "/x"},
        "extract": [{"token": "content.token"}, {"uid": "body.id"}],
        "validate": [{"check": "status_code", "assert": "eq", "expect": 200, "msg": "ok?"},
                     {"check": "body.id", "comparator": "gt", "expect": 0}]}]})
    step = model.teststeps[0]
    assert step.extract == {"token": "content.token", "uid": "body.id"}
    assert [(v.comparator, v.check, v.expect, v.message) for v in step.validators] == [
        ("equal", "status_code", 200, "ok?"), ("greater_than", "body.id", 0, "")]
    for bad, needle in [
        ({"extract": [{"a": "body.a"}, {"a": "body.b"}]}, "extracted twice"),
        ({"extract": [{"a": "body.a", "b": "body.b"}]}, "list of {variable: path}"),
        ({"validate": [{"check": "body", "assert": "eq", "comparator": "eq", "expect": 1}]},
         "comparator or assert"),
    ]:
        step_doc = {"name": "s", "request": {"method": "GET", "url": "/x"}, **bad}
        with pytest.raises(TestcaseInvalid) as caught:
            validate_testcase({"config": {"name": "v2"}, "teststeps": [step_doc]})
        assert needle in str(caught.value)


def test_empty_hooks_are_accepted_and_hooks_still_refused() -> None:
    """`setup_hooks: []` has no effect, so it is no reason to refuse a file (issue 17, item 4)."""
    doc = with_step(setup_hooks=[], teardown_hooks=[])
    doc["config"]["setup_hooks"] = []
    assert validate_testcase(doc).teststeps[0].name
    assert "not support" in errors_of(with_step(setup_hooks=["${setup()}"]))["teststeps[0].setup_hooks"]


def test_a_refused_call_keeps_its_arguments_and_the_builtins_are_listed_once() -> None:
    doc = with_step(variables={"a": "${sum_two(1, 2)}", "b": "${sum_two(x=$y, z=None)}"})
    with pytest.raises(TestcaseInvalid) as info:
        validate_testcase(doc)
    fields = info.value.fields
    assert fields["teststeps[0].variables.a"].startswith("${sum_two(1, 2)} is not a safe builtin")
    assert fields["teststeps[0].variables.b"].startswith("${sum_two(x=$y, z=None)} is not")
    assert "write the value it returns" in fields["teststeps[0].variables.a"]
    assert str(info.value).count("the safe builtins:") == 1
