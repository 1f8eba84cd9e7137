"""The CLI runs a project's debugtalk.py as HttpRunner does: found beside the testcases (or
named with --debugtalk), on the user's own machine; the examples pass there too."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from chalicelib.runner.cli import main
from tests.functional.runner.server import LocalServer

from .conftest import EXAMPLES


@pytest.fixture(scope="module")
def server():
    with LocalServer() as running:
        yield running


def cli(*args: object) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["run", *map(str, args)], stdout=out)
    return code, out.getvalue()


def test_the_examples_pass_with_the_nearest_debugtalk(server, tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project / "testcases")
    shutil.move(project / "testcases" / "debugtalk.py", project / "debugtalk.py")  # the root's
    code, out = cli(project / "testcases", "--base-url", server.url, "--allow-private")
    assert code == 0, out
    assert "6 testcases: 6 passed, 0 failed" in out


def test_a_failing_function_is_a_step_error_with_the_users_traceback(server, tmp_path: Path):
    (tmp_path / "tools.py").write_text("def broken(x):\n    return 1 / x\n")
    (tmp_path / "case.yml").write_text(
        "config: {name: broken}\nteststeps:\n  - name: divide\n"
        "    request: {method: GET, url: '/json?q=${broken(0)}'}\n")
    code, out = cli(tmp_path / "case.yml", "--debugtalk", tmp_path / "tools.py",
                    "--base-url", server.url, "--allow-private")
    assert code == 1
    assert "broken() raised ZeroDivisionError: division by zero" in out
    assert 'File "debugtalk.py", line 2, in broken: return 1 / x' in out
    assert "chalicelib" not in out


def test_a_debugtalk_that_fails_to_import_is_a_usage_error(tmp_path: Path):
    (tmp_path / "debugtalk.py").write_text("raise RuntimeError('no')\n")
    (tmp_path / "case.yml").write_text(
        "config: {name: c}\nteststeps:\n  - {name: s, request: {method: GET, url: /}}\n")
    with pytest.raises(SystemExit) as exited:
        cli(tmp_path / "case.yml")
    assert exited.value.code == 2
