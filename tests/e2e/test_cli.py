"""The `hat` command as a pipeline uses it, against the local stack as `make dev` runs it:
installed from its wheel into a virtualenv of its own (no hat code, no AWS), `hat push` of a
folder (diff, dry run, prune), `hat run --wait --junit` exiting 1 on a failing module with a
valid JUnit file and 0 after the fix, and exit 2 once the key is revoked."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.conftest import PROJECT_DIR
from tests.e2e.test_catalog import signed_in
from tests.e2e.test_runs import _case, target  # noqa: F401 (target is a fixture)


@pytest.fixture(scope="session")
def hat_command(tmp_path_factory) -> Path:
    """`hat`, from the wheel `make cli` builds, in a fresh virtualenv holding nothing else."""
    root = tmp_path_factory.mktemp("cli")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(root / "dist"), str(PROJECT_DIR / "cli")], check=True,
                   cwd=root)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    wheel, = (root / "dist").glob("hat_cli-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "venv" / "bin" / "python"), "install",
                    "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    return root / "venv" / "bin" / "hat"


def hat(command: Path, stack, key: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HAT_URL": stack.url, "HAT_API_KEY": key}
    return subprocess.run([str(command), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


def write(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def test_push_run_fix_and_revoke(stack, http, target, hat_command, tmp_path):  # noqa: F811
    headers = signed_in(stack, http)
    name = f"cli {os.urandom(2).hex()}"
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": name, "environments": {"default": {"base_url": target}}}).json()
    key = http.post(f"{stack.url}/projects/{project['id']}/keys", headers=headers, timeout=5,
                    json={"name": "pipeline", "scopes": ["read", "run", "write"]}).json()
    folder = tmp_path / "api"
    write(folder / "orders" / "ok.json", _case("ok", 200))
    write(folder / "orders" / "broken.json", _case("broken", 500))
    write(folder / "smoke" / "ping.json", _case("ping", 200))

    dry = hat(hat_command, stack, key["key"], "push", str(folder), "--project", name, "--dry-run",
              cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "+ module orders" in dry.stdout and "+ module smoke" in dry.stdout and "dry run" in dry.stdout
    modules = f"{stack.url}/projects/{project['id']}/modules"
    assert http.get(modules, headers=headers, timeout=5).json()["items"] == []  # nothing written

    pushed = hat(hat_command, stack, key["key"], "push", str(folder), "--project", name, cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert sorted(m["name"] for m in http.get(modules, headers=headers, timeout=5).json()["items"]) == \
        ["orders", "smoke"]

    failed = hat(hat_command, stack, key["key"], "run", "--project", name, "--module", "orders", "--wait",
                 "--junit", "junit.xml", "--json", "report.json", cwd=tmp_path)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "hat: failed: 1/2 testcases passed" in failed.stdout and "FAIL broken" in failed.stdout
    suites = ET.parse(tmp_path / "junit.xml").getroot()  # <testsuites>: one suite per testcase
    assert (suites.tag, suites.get("tests"), suites.get("failures")) == ("testsuites", "2", "1")
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "failed"

    write(folder / "orders" / "broken.json", _case("broken", 200))  # the fix
    (folder / "smoke" / "ping.json").unlink()
    fixed = hat(hat_command, stack, key["key"], "push", str(folder), "--project", name, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert "~ " in fixed.stdout and "broken.json" in fixed.stdout
    assert "- smoke/ping  (kept: --prune deletes it)" in fixed.stdout
    pruned = hat(hat_command, stack, key["key"], "push", str(folder), "--project", name, "--prune",
                 cwd=tmp_path)
    assert pruned.returncode == 0 and "- smoke/ping" in pruned.stdout
    again = hat(hat_command, stack, key["key"], "push", str(folder), "--project", name, "--dry-run",
                cwd=tmp_path)
    assert "0 to add, 0 to change, 0 testcases" in again.stdout, again.stdout

    passed = hat(hat_command, stack, key["key"], "run", "--project", project["id"], "--wait",
                 "--junit", "junit.xml", cwd=tmp_path)
    assert passed.returncode == 0, (passed.stdout, passed.stderr)
    assert "hat: passed: 2/2" in passed.stdout
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("2", "0", "0")

    wrong = hat(hat_command, stack, key["key"], "run", "--project", "someone else's", cwd=tmp_path)
    assert wrong.returncode == 2 and "belongs to project" in wrong.stderr
    local = hat(hat_command, stack, key["key"], "local", "x.json", cwd=tmp_path)
    assert local.returncode == 2 and "not importable" in local.stderr  # no hat code in this venv

    assert http.delete(f"{stack.url}/projects/{project['id']}/keys/{key['id']}", headers=headers,
                       timeout=5).status_code == 204
    revoked = hat(hat_command, stack, key["key"], "run", "--project", name, "--wait", cwd=tmp_path)
    assert revoked.returncode == 2, (revoked.stdout, revoked.stderr)
    assert "401" in revoked.stderr
