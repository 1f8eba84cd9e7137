"""Every comparator, through every alias, passing and failing."""

from __future__ import annotations

import pytest

from chalicelib.runner.comparators import ALIASES, CANONICAL, canonical_comparator, compare

# canonical name -> (cases that pass, cases that fail); each case is (actual, expected)
CASES: dict[str, tuple[list[tuple], list[tuple]]] = {
    "equal": ([(1, 1), ("a", "a"), (1, 1.0), ({"a": [1]}, {"a": [1]}), (None, None)],
              [(1, 2), ("1", 1), ([1], [2]), (None, 0)]),
    "not_equal": ([(1, 2), ("1", 1)], [(1, 1), (None, None)]),
    "less_than": ([(1, 2), (1.5, 2), ("a", "b")], [(2, 2), (3, 2), (None, 1), ("1", 2)]),
    "less_or_equals": ([(2, 2), (1, 2)], [(3, 2), ([1], 1)]),
    "greater_than": ([(3, 2)], [(2, 2), (1, 2), (None, 1)]),
    "greater_or_equals": ([(2, 2), (3, 2)], [(1, 2), ({}, 1)]),
    "string_equals": ([(200, "200"), ("a", "a"), (True, "True")], [(200, "201"), (None, "")]),
    "length_equal": ([("abc", 3), ([1, 2], 2), ({"a": 1}, 1)],
                     [("abc", 2), (5, 1), ("abc", "3"), ("abc", True)]),
    "length_greater_than": ([("abc", 2), ([1], 0.5)], [("abc", 3), (None, 0)]),
    "length_greater_or_equals": ([("abc", 3)], [("abc", 4)]),
    "length_less_than": ([("abc", 4)], [("abc", 3)]),
    "length_less_or_equals": ([("abc", 3), ([], 0)], [("abc", 2)]),
    "contains": ([([1, 2], 2), ("hello", "ell"), ({"k": 1}, "k")],
                 [([1, 2], 3), ("hello", "z"), (5, 5), (None, 1), ("abc", 1)]),
    "contained_by": ([(2, [1, 2]), ("ell", "hello"), ("k", {"k": 1})],
                     [(3, [1, 2]), (1, 5), (1, "abc")]),
    "type_match": ([(1, "int"), (1.5, "float"), ("s", "str"), (True, "bool"), ([], "list"),
                    ({}, "dict"), (None, "None"), (None, "NoneType"), (None, None),
                    (1, "number"), (2.5, "number"), ("s", "string"), ({}, "object"),
                    ([], "array"), (False, "boolean"), (None, "null"), (3, "integer")],
                   [(True, "int"), (1, "float"), (1, "str"), (0, "None"), (1, "bogus"),
                    (True, "number"), (1, 5)]),
    "regex_match": ([("abc123", r"[a-z]+\d+"), ("abc", "a")],
                    [("xabc", "abc"), (123, r"\d+"), ("abc", 1), ("abc", "(")]),
    "startswith": ([("hello", "he"), (12345, 12), ("x", "")], [("hello", "lo"), (None, "N/")]),
    "endswith": ([("hello", "lo"), (12345, 45)], [("hello", "he")]),
    "json_schema": ([({"a": 1}, {"type": "object"}), (3, {"type": "integer", "minimum": 3}), (None, True)],
                    [("3", {"type": "integer"}), ({}, {"required": ["a"]}), (1, "integer"),
                     (1, {"type": 5})]),
}


def test_the_table_covers_every_comparator() -> None:
    assert set(CASES) == set(ALIASES)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    sorted((alias, name) for name, aliases in ALIASES.items() for alias in (name, *aliases)),
)
def test_every_spelling_behaves_like_its_comparator(spelling: str, canonical: str) -> None:
    passing, failing = CASES[canonical]
    for actual, expected in passing:
        assert compare(spelling, actual, expected) is None, (spelling, actual, expected)
    for actual, expected in failing:
        reason = compare(spelling, actual, expected)
        assert isinstance(reason, str) and reason, (spelling, actual, expected)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("eq", "equal"), ("equals", "equal"), ("==", "equal"), ("is", "equal"),
     ("ne", "not_equal"), ("not_equals", "not_equal"), ("lt", "less_than"),
     ("le", "less_or_equals"), ("less_than_or_equals", "less_or_equals"),
     ("gt", "greater_than"), ("ge", "greater_or_equals"),
     ("greater_than_or_equals", "greater_or_equals"), ("str_eq", "string_equals"),
     ("len_eq", "length_equal"), ("length_equals", "length_equal"), ("count_eq", "length_equal"),
     ("len_gt", "length_greater_than"), ("count_gt", "length_greater_than"),
     ("count_greater_than", "length_greater_than"), ("len_ge", "length_greater_or_equals"),
     ("count_ge", "length_greater_or_equals"),
     ("length_greater_than_or_equals", "length_greater_or_equals"),
     ("count_greater_than_or_equals", "length_greater_or_equals"),
     ("len_lt", "length_less_than"), ("count_lt", "length_less_than"),
     ("count_less_than", "length_less_than"), ("len_le", "length_less_or_equals"),
     ("count_le", "length_less_or_equals"), ("length_less_than_or_equals", "length_less_or_equals"),
     ("count_less_than_or_equals", "length_less_or_equals")],
)
def test_httprunner_aliases(alias: str, canonical: str) -> None:
    assert canonical_comparator(alias) == canonical


def test_unknown_comparators_are_not_guessed() -> None:
    assert canonical_comparator("approximately") is None
    assert canonical_comparator("EQ") is None  # HttpRunner is case-sensitive too
    assert len(CANONICAL) == sum(1 + len(a) for a in ALIASES.values())


def test_failure_reasons_are_readable() -> None:
    assert compare("eq", 1, 2) == "expected 1 == 2"
    assert compare("lt", None, 5) == "cannot compare NoneType None < int 5"
    assert compare("len_eq", 5, 1) == "int 5 has no length"
    assert compare("type_match", 1, "str") == "expected type str, got int"
    assert "invalid regular expression" in compare("regex_match", "a", "(")
