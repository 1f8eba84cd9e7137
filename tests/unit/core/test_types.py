"""mypy (also in `make lint`): strict on chalicelib/core and chalicelib/runner, as
[tool.mypy] in pyproject.toml says. A type error there fails here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_core_and_runner_type_check_strictly() -> None:
    done = _mypy()  # the files and options of pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues found" in done.stdout


def test_the_configuration_is_strict(tmp_path: Path) -> None:
    # what strict refuses and plain mypy lets through: a function without annotations
    probe = tmp_path / "probe.py"
    probe.write_text("def untyped(value):\n    return value\n")
    done = _mypy(str(probe))  # the file given replaces the configured ones, not the options
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[no-untyped-def]" in done.stdout
