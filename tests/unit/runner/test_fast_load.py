"""load_testcase's fast path reads the usual documents exactly as the pydantic models do,
and never accepts one the models refuse (it hands anything unusual to them). Both give the
engine the same objects (testcase.RunTestcase)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.runner.errors import TestcaseInvalid
from chalicelib.runner.schema import Testcase as CaseModel
from chalicelib.runner.schema import _fast_load, load_testcase, run_testcase
from chalicelib.runner.testcase import RunTestcase

BASE: dict[str, Any] = {
    "config": {
        "name": "case", "base_url": "http://api.test", "variables": {"user": "u1", "n": 3},
        "headers": {"X-Trace": "$user"}, "verify": True, "export": ["token"], "weight": 2,
    },
    "teststeps": [
        {"name": "login",
         "request": {"method": "post", "url": "/login", "json": {"user": "$user"},
                     "timeout": 5, "allow_redirects": False, "verify": False,
                     "params": {"a": 1}, "cookies": {"c": "d"}, "headers": {"H": "v"}},
         "extract": {"token": "body.token"},
         "validate": [{"eq": ["status_code", 200]}, {"len_gt": ["body.token", 0, "has one"]},
                      {"contains": ["body.items", {"id": 1}]},
                      {"check": "body.n", "assert": "ge", "expected": 1, "msg": "legacy"}],
         "variables": {"x": "$user"}, "retry_times": 2, "retry_interval": 1,
         "max_response_ms": 500},
        {"name": "form", "request": {"method": "PUT", "url": "/f", "data": {"k": "v"}},
         "extract": [{"id": "body.id"}]},
        {"name": "text", "request": {"method": "PATCH", "url": "/t", "data": "raw",
                                     "timeout": 2.5}, "export": [], "retry_interval": 0.5},
        {"name": "null json", "request": {"method": "GET", "url": "/n", "json": None}},
        {"name": "file", "request": {"method": "POST", "url": "/u",
                                     "upload": {"f": "data/a.csv", "k": "v"}}},
        {"name": "shared", "testcase": "other", "export": ["token"], "variables": {"v": 1}},
    ],
}


def _same(fast: RunTestcase, model: CaseModel) -> None:
    theirs = run_testcase(model)
    assert fast == theirs
    for mine, other in zip(fast.teststeps, theirs.teststeps, strict=True):
        # equal is not enough: 1 == 1.0 == True, and the engine reports the value it holds
        assert type(mine.retry_interval) is type(other.retry_interval)
        assert type(mine.retry_times) is type(other.retry_times)
        if mine.request is not None and other.request is not None:
            assert type(mine.request.timeout) is type(other.request.timeout)
        for left, right in zip(mine.validators, other.validators, strict=True):
            assert (left.path, left.compare) == (right.path, right.compare)
    assert fast.config.parameter_combinations() == theirs.config.parameter_combinations()


def test_the_usual_documents_are_read_as_the_models_read_them() -> None:
    fast = _fast_load(copy.deepcopy(BASE))
    assert isinstance(fast, RunTestcase)
    _same(fast, CaseModel.model_validate(copy.deepcopy(BASE)))
    assert load_testcase(copy.deepcopy(BASE)) == fast


def test_a_debugtalk_comparator_is_read_fast_when_the_project_defines_it() -> None:
    doc = copy.deepcopy(BASE)
    doc["teststeps"][0]["validate"] = [{"is_even": ["body.n", True]}, {"eq": ["body.n", 2]}]
    assert _fast_load(copy.deepcopy(doc)) is None  # unknown without the project's names
    functions = frozenset({"is_even", "equal"})
    fast = _fast_load(copy.deepcopy(doc), functions)
    assert fast is not None
    assert [(v.comparator, v.compare is None) for v in fast.teststeps[0].validators] == [
        ("is_even", True), ("equal", False)]  # a built-in comparator wins over a function
    _same(fast, CaseModel.model_validate(doc, context={"functions": functions}))


@pytest.mark.parametrize("doc", [
    {**BASE, "config": {**BASE["config"], "parameters": {"a": [1, 2]}}},
    {**BASE, "config": {**BASE["config"], "verify": "true"}},
    {**BASE, "config": {**BASE["config"], "variables": {"uñ": 1}}},
    {**BASE, "teststeps": [{**BASE["teststeps"][1], "retry_times": 2.0}]},
])
def test_unusual_documents_go_to_the_models_and_come_out_the_same(doc: dict[str, Any]) -> None:
    assert _fast_load(doc) is None
    loaded = load_testcase(doc)
    assert isinstance(loaded, RunTestcase)
    assert loaded == run_testcase(CaseModel.model_validate(doc))


_ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2.5, 301, "", "x", "GET", "get", "bad name", "body.x",
    "status", "1abc", [], [1], ["token"], {}, {"a": 1}, {"bad key": 1}, {1: "x"},
    {"eq": ["status_code", 200]}, {"nope": [1, 2]}, float("nan"), "data/x.csv", "${f()}",
    {"check": "status_code", "expect": 1}, [{"a": "body.a"}], [{"a": "body.a"}, {"a": "body"}],
]


def _paths(value: Any, trail: tuple = ()) -> list[tuple]:
    out = [trail]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*trail, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*trail, index)))
    return out


def _mutated(rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for _ in range(rng.randint(1, 2)):
        trail = rng.choice(_paths(doc)[1:])
        parent = doc
        for key in trail[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rng.random() < 0.3:
            parent.pop(trail[-1], None)
        elif isinstance(parent, dict) and rng.random() < 0.2:
            parent[rng.choice(["extra", "validators", "json_body", "testcase", "request",
                               "upload", "data", "setup_hooks"])] = 1
        else:
            parent[trail[-1]] = copy.deepcopy(rng.choice(_ODD_VALUES))
    return doc


def test_mutated_documents_fast_or_not_agree_with_the_models() -> None:
    rng = random.Random(1234)
    fast_count = 0
    for _ in range(3000):
        doc = _mutated(rng)
        fast = _fast_load(copy.deepcopy(doc))
        try:
            model = CaseModel.model_validate(copy.deepcopy(doc))
        except ValidationError:
            assert fast is None, doc
            with pytest.raises(TestcaseInvalid):
                load_testcase(doc)
            continue
        if fast is not None:
            fast_count += 1
            _same(fast, model)
        assert load_testcase(doc) == run_testcase(model)
    assert fast_count > 300  # the fast path is actually exercised
