"""Sources of unexpected shapes (a list where an object belongs, a number for a name...) are
reported item by item or refused with SourceInvalid (a 400): never another exception (a 500)."""

from __future__ import annotations

import json
import random

import pytest

from chalicelib.importers.common import SourceInvalid
from chalicelib.importers.convert import convert_text
from chalicelib.importers.loading import load_structured
from tests.unit.importers.conftest import fixture_text

ODD_VALUES = [
    None,
    1,
    -1,
    0.5,
    True,
    "",
    "x",
    "{{a}}",
    "$x",
    [],
    {},
    [1],
    {"a": 1},
    "${f()}",
    "\x00",
    [[]],
    [{}],
    {"": None},
]
SEEDS = 120


def _mutated(value, rng: random.Random, rate: float):
    if rng.random() < rate:
        return rng.choice(ODD_VALUES)
    if isinstance(value, dict):
        return {key: _mutated(item, rng, rate) for key, item in value.items()}
    if isinstance(value, list):
        return [_mutated(item, rng, rate) for item in value]
    return value


@pytest.mark.parametrize(
    "name",
    [
        "shop.postman_collection.json",
        "roundtrip.postman_collection.json",
        "shop_session.har",
        "petstore.openapi.yaml",
        "orders.swagger.json",
    ],
)
def test_mutated_sources_convert_or_are_refused(name):
    source = load_structured(fixture_text(name))
    converted = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        try:
            conversion = convert_text(json.dumps(_mutated(source, rng, rng.choice([0.01, 0.05, 0.2]))))
        except SourceInvalid:
            continue
        converted += 1
        assert all(item.document["teststeps"] for item in conversion.testcases)
    assert converted > SEEDS // 10  # most light mutations still convert, reporting what they broke


@pytest.mark.parametrize("shell", ["bash", "cmd"])
def test_random_command_lines_convert_or_are_refused(shell):
    pieces = list("-HdXFuGLbeA'\"\\$^%{}[]()=:;&|#\n\t ab@/?.,") + [
        " -H ",
        " -d ",
        " --json ",
        " --url ",
        " -u ",
        "http://x/",
        " -F ",
        " --data-urlencode ",
        "${",
        "$'",
        "^\n",
        "\\\n",
        "curl ",
    ]
    for seed in range(300):
        rng = random.Random(seed)
        text = "curl " + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))
        try:
            convert_text(text, "curl", {"shell": shell})
        except SourceInvalid:
            pass
