"""The hat half of the HttpRunner compatibility suite (tests/compat, issue 17): every case
of tests/compat/project/testcases/ run by hat's CLI against the local server gives the
verdict tests/compat/compare.py expects of hat. `make compat` also runs them with hrun 3.1.11
and prints both verdicts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.compare import CASES, EXPECTED, hat_verdict, make_project

from .server import LocalServer


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def test_every_case_has_an_expected_verdict() -> None:
    assert len(CASES) >= 14 and set(EXPECTED) == {case.stem for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_hat_gives_the_expected_verdict(case: Path, server: LocalServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(server.url, tmp_path, debugtalk=False)
    monkeypatch.chdir(root)
    verdict, output = hat_verdict(root, case)
    assert verdict == EXPECTED[case.stem][0], output
