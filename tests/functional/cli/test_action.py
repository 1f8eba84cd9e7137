"""The composite GitHub Action (.github/actions/hat-run): its inputs reach `hat` as arguments,
through environment variables (never pasted into the script), with a stand-in `hat` on PATH."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

ACTION = Path(__file__).resolve().parents[3] / ".github" / "actions" / "hat-run" / "action.yml"


def _step(name: str) -> dict:
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    return next(step for step in steps if step.get("name") == name)


def _run(step: dict, tmp_path: Path, **inputs: str) -> list[str]:
    stub = tmp_path / "hat"
    stub.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    stub.chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", **inputs}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.splitlines()


def test_inputs_become_arguments(tmp_path):
    run = _step("hat run")
    assert "${{" not in run["run"]  # inputs arrive through env, so no input can inject shell
    args = _run(run, tmp_path, HAT_PROJECT="my shop", HAT_MODULES="orders smoke", HAT_ENVIRONMENT="staging",
                HAT_TIMEOUT="300", HAT_JUNIT="out.xml")
    assert args == ["run", "--project", "my shop", "--wait", "--timeout", "300", "--junit", "out.xml",
                    "--module", "orders", "--module", "smoke", "--env", "staging"]
    assert _run(run, tmp_path, HAT_PROJECT="p", HAT_MODULES="", HAT_ENVIRONMENT="", HAT_TIMEOUT="600",
                HAT_JUNIT="j.xml")[-1] == "j.xml"
    push = _step("hat push")
    assert _run(push, tmp_path, HAT_PUSH="tests/api", HAT_PROJECT="p", HAT_PRUNE="true") == \
        ["push", "tests/api", "--project", "p", "--prune"]
    assert _run(push, tmp_path, HAT_PUSH="tests/api", HAT_PROJECT="p", HAT_PRUNE="false")[-1] == "p"
