"""Fixtures of the converters' unit tests: the realistic sources in tests/fixtures/imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> dict:
    return json.loads(fixture_text(name))


@pytest.fixture
def collection() -> dict:
    return fixture_json("shop.postman_collection.json")
