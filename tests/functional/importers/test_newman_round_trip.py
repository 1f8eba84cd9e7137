"""The round trip against Newman, Postman's own runner: the same collection, run by Newman and
by hat after import, against the same local server, gives the same verdict per request.

hat stops a testcase at its first failing step (HttpRunner's rule) where Newman goes on, so
hat's verdict on request k is that of the testcase's step k run after steps 1..k-1 with
their checks taken off (their requests, extracts and cookies all happen as in Newman's run).

Newman is installed with npm into a folder of its own (HAT_NEWMAN_DIR, default
~/.cache/hat-tests/newman, reused between runs); without npm, or when the install fails,
the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from chalicelib.importers.convert import convert_text
from tests.functional.importers.conftest import fixture_text

NEWMAN_VERSION = "6.2.2"
INSTALL_TIMEOUT_SECONDS = 300


def _newman() -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("npm/node not on PATH: the Newman round trip needs them (Node 20)")
    folder = Path(os.environ.get("HAT_NEWMAN_DIR", Path.home() / ".cache" / "hat-tests" / "newman"))
    binary = folder / "node_modules" / ".bin" / "newman"
    manifest = folder / "node_modules" / "newman" / "package.json"
    if (
        binary.exists()
        and manifest.exists()
        and json.loads(manifest.read_text())["version"] == NEWMAN_VERSION
    ):
        return binary
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"newman@{NEWMAN_VERSION}"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install newman@{NEWMAN_VERSION} took over {INSTALL_TIMEOUT_SECONDS} s")
    if result.returncode != 0 or not binary.exists():
        pytest.skip(f"npm install newman@{NEWMAN_VERSION} failed: {result.stderr.strip()[-300:]}")
    return binary


def _newman_verdicts(newman: Path, collection: Path, environment: Path, tmp_path: Path) -> dict[str, bool]:
    report = tmp_path / "newman.json"
    subprocess.run(
        [
            str(newman),
            "run",
            str(collection),
            "-e",
            str(environment),
            "--reporters",
            "json",
            "--reporter-json-export",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    executions = json.loads(report.read_text())["run"]["executions"]
    verdicts = {}
    for execution in executions:
        failed = [a for a in execution.get("assertions") or [] if a.get("error")]
        verdicts[execution["item"]["name"]] = not failed and not execution.get("requestError")
    return verdicts


def test_newman_and_hat_agree_on_every_request(tmp_path, shop, run_on):
    newman = _newman()
    collection = tmp_path / "collection.json"
    collection.write_text(fixture_text("roundtrip.postman_collection.json"))
    environment = tmp_path / "environment.json"
    environment.write_text(
        json.dumps({"name": "local", "values": [{"key": "baseUrl", "value": shop.url, "enabled": True}]})
    )
    by_newman = _newman_verdicts(newman, collection, environment, tmp_path)

    conversion = convert_text(
        json.dumps(
            {
                "collection": json.loads(collection.read_text()),
                "environment": json.loads(environment.read_text()),
            }
        ),
        options={"folders": "collection"},
    )
    assert conversion.report.not_converted == []  # every check of this collection converts
    [testcase] = [t.document for t in conversion.testcases]
    by_hat = {}
    for k, step in enumerate(testcase["teststeps"]):
        earlier = [
            {key: value for key, value in s.items() if key != "validate"} for s in testcase["teststeps"][:k]
        ]
        report = run_on([{**testcase, "teststeps": [*earlier, step]}], base_url=False)
        by_hat[step["name"]] = report["testcases"][0]["steps"][-1]["success"]

    assert by_hat == by_newman
    assert sorted(name for name, ok in by_hat.items() if not ok) == [
        "Echo a form",
        "Not an admin",
        "Orders",
        "Who am I (wrong name)",
        "Wrong status",
    ]
