"""The json_schema comparator: a value checked against a JSON Schema (2020-12), regexes in RE2."""

from __future__ import annotations

from chalicelib.runner.comparators import compare
from chalicelib.runner.schema import validate_testcase

TREE = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
    },
    "$defs": {"Tree": {"$ref": "#"}},
}


def test_a_recursive_schema_passes_and_fails_where_it_should():
    assert compare("json_schema", {"name": "a", "kids": [{"name": "b", "kids": []}]}, TREE) is None
    problem = compare("json_schema", {"name": "a", "kids": [{"name": "B"}], "x": 1}, TREE)
    assert "at body: " in problem and "'x'" in problem
    assert "at body.kids[0].name" in problem
    assert compare("matches_schema", 3, {"type": "integer"}) is None  # the alias


def test_bad_schemas_and_values_fail_the_check_without_raising():
    assert "not a valid JSON Schema" in compare("json_schema", 1, {"type": "nope"})
    assert "must be a JSON Schema" in compare("json_schema", 1, "integer")
    assert "not supported" in compare("json_schema", "ab", {"pattern": "(?=a)b"})  # lookaheads: not RE2
    assert (
        compare(
            "json_schema",
            {"é": 1},
            {"patternProperties": {"^é$": {"type": "integer"}}, "additionalProperties": False},
        )
        is None
    )


def test_a_catastrophic_pattern_runs_in_linear_time():
    # (a+)+b backtracks exponentially in Python's re; RE2 answers at once
    assert compare("json_schema", "a" * 5000 + "c", {"pattern": "^(a+)+b$"}).startswith("at body: ")
    assert "not allowed" in compare(
        "json_schema",
        {"a" * 5000 + "c": 1},
        {"patternProperties": {"^(a+)+b$": {}}, "additionalProperties": False},
    )


def test_testcases_may_use_it():
    document = {
        "config": {"name": "c"},
        "teststeps": [
            {
                "name": "s",
                "request": {"method": "GET", "url": "http://x/"},
                "validate": [{"json_schema": ["body", {"type": "object"}]}],
            }
        ],
    }
    assert validate_testcase(document).teststeps[0].validators[0].comparator == "json_schema"
