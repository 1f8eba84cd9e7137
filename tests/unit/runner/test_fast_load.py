"""load_testcase's fast path reads the usual documents exactly as the pydantic models do,
and never accepts one the models refuse (it hands anything unusual to them)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.runner.errors import TestcaseInvalid
from chalicelib.runner.schema import RunTestcase, _fast_load, load_testcase
from chalicelib.runner.schema import Testcase as CaseModel

BASE: dict[str, Any] = {
    "config": {
        "name": "case", "base_url": "http://api.test", "variables": {"user": "u1", "n": 3},
        "headers": {"X-Trace": "$user"}, "verify": True, "export": ["token"],
    },
    "teststeps": [
        {"name": "login",
         "request": {"method": "post", "url": "/login", "json": {"user": "$user"},
                     "timeout": 5, "allow_redirects": False, "verify": False,
                     "params": {"a": 1}, "cookies": {"c": "d"}, "headers": {"H": "v"}},
         "extract": {"token": "body.token"},
         "validate": [{"eq": ["status_code", 200]}, {"len_gt": ["body.token", 0, "has one"]},
                      {"contains": ["body.items", {"id": 1}]}],
         "variables": {"x": "$user"}, "retry_times": 2, "retry_interval": 1},
        {"name": "form", "request": {"method": "PUT", "url": "/f", "data": {"k": "v"}}},
        {"name": "text", "request": {"method": "PATCH", "url": "/t", "data": "raw",
                                     "timeout": 2.5}, "export": [], "retry_interval": 0.5},
        {"name": "null json", "request": {"method": "GET", "url": "/n", "json": None}},
    ],
}


def _attrs(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _same(fast: RunTestcase, model: CaseModel) -> None:
    config_fields = ("name", "base_url", "variables", "parameters", "headers", "verify",
                     "export")
    assert _attrs(fast.config, config_fields) == _attrs(model.config, config_fields)
    assert len(fast.teststeps) == len(model.teststeps)
    step_fields = ("name", "testcase", "variables", "extract", "export", "retry_times",
                   "retry_interval")
    request_fields = ("method", "url", "params", "headers", "json_body", "data", "cookies",
                      "timeout", "allow_redirects", "verify")
    for mine, theirs in zip(fast.teststeps, model.teststeps, strict=True):
        assert _attrs(mine, step_fields) == _attrs(theirs, step_fields)
        for name in ("retry_interval",):
            assert type(getattr(mine, name)) is type(getattr(theirs, name))
        assert _attrs(mine.request, request_fields) == _attrs(theirs.request, request_fields)
        assert type(mine.request.timeout) is type(theirs.request.timeout)
        assert mine.request.has_json() == theirs.request.has_json()
        assert [_attrs(v, ("comparator", "check", "expect", "message"))
                for v in mine.validators] == [
            _attrs(v, ("comparator", "check", "expect", "message")) for v in theirs.validators
        ]
    assert fast.config.parameter_combinations() == model.config.parameter_combinations()
    assert fast.references() == model.references()


def test_the_usual_documents_are_read_as_the_models_read_them() -> None:
    fast = _fast_load(copy.deepcopy(BASE))
    assert isinstance(fast, RunTestcase)
    _same(fast, CaseModel.model_validate(copy.deepcopy(BASE)))
    assert isinstance(load_testcase(copy.deepcopy(BASE)), RunTestcase)


@pytest.mark.parametrize("doc", [
    {**BASE, "config": {**BASE["config"], "parameters": {"a": [1, 2]}}},
    {**BASE, "teststeps": [{"name": "ref", "testcase": "other"}]},
    {**BASE, "config": {**BASE["config"], "verify": "true"}},
    {**BASE, "teststeps": [{**BASE["teststeps"][1], "validate": [
        {"check": "status_code", "comparator": "eq", "expect": 200}]}]},
])
def test_unusual_documents_go_to_the_models(doc: dict[str, Any]) -> None:
    assert _fast_load(doc) is None
    assert not isinstance(load_testcase(doc), RunTestcase)


_ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2.5, 301, "", "x", "GET", "get", "bad name", "body.x",
    "status", "1abc", [], [1], ["token"], {}, {"a": 1}, {"bad key": 1}, {1: "x"},
    {"eq": ["status_code", 200]}, {"nope": [1, 2]}, float("nan"),
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
            parent[rng.choice(["extra", "validators", "json_body", "testcase"])] = 1
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
    assert fast_count > 300  # the fast path is actually exercised
