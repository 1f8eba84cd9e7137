"""`python -m chalicelib.runner convert`: YAML testcases that `run` accepts, and the report."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from chalicelib.runner.cli import main
from tests.functional.importers.conftest import FIXTURES

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_convert_then_run_a_postman_collection(tmp_path, shop):
    environment = json.loads((FIXTURES / "shop.postman_environment.json").read_text())
    environment["values"][0]["value"] = shop.url
    (tmp_path / "env.json").write_text(json.dumps(environment))
    out = io.StringIO()
    status = main(
        [
            "convert",
            str(FIXTURES / "shop.postman_collection.json"),
            "--out",
            str(tmp_path / "cases"),
            "--environment",
            str(tmp_path / "env.json"),
            "--option",
            "folders=collection",
        ],
        out,
    )
    printed = out.getvalue()
    assert status == 0, printed
    assert "postman: 1 testcase(s) written" in printed
    assert "not converted (" in printed and "postman.setNextRequest" in printed
    assert "sent from the project file 'files/receipt.pdf'" in printed
    [written] = sorted((tmp_path / "cases").glob("*.yml"))
    (tmp_path / "cases" / "files").mkdir()  # the receipt, where the report said (the project root)
    (tmp_path / "cases" / "files" / "receipt.pdf").write_bytes(b"%PDF-1.4 receipt")
    ran = io.StringIO()
    assert main(["run", str(written), "--allow-private"], ran) == 0, ran.getvalue()
    assert "1 testcases: 1 passed" in ran.getvalue()


def test_convert_an_openapi_document_into_a_folder_per_tag(tmp_path, shop):
    out = io.StringIO()
    assert main(["convert", str(FIXTURES / "petstore.openapi.yaml"), "--out", str(tmp_path)], out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["admin", "default", "pets"]
    assert (tmp_path / "pets" / "listPets.yml").is_file()
    ran = io.StringIO()
    status = main(
        [
            "run",
            str(tmp_path / "pets"),
            "--allow-private",
            "--base-url",
            f"{shop.url}/v1",
            "--var",
            "api_key=key-123",
        ],
        ran,
    )
    assert status == 0, ran.getvalue()


def test_a_bad_source_exits_2_with_the_reason(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}')
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.runner", "convert", str(bad), "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "could not tell the format" in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chalicelib.runner",
            "convert",
            "-",
            "--from",
            "curl",
            "--out",
            str(tmp_path / "out"),
        ],
        input="curl http://x/a\n",
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "GET_a.yml").is_file()


def test_convert_puts_the_environment_file_in_the_folders_dot_env_which_run_reads(tmp_path, shop):
    """--option environment=NAME: the environment's values (secrets too) go to OUT/.env, not
    into the testcases; `run` reads it as the run's environment, so the converted testcase
    reaches the server through the .env's baseUrl (its collection variable left out)."""
    environment = json.loads((FIXTURES / "shop.postman_environment.json").read_text())
    environment["values"][0]["value"] = shop.url
    environment["values"].append({"key": "apiToken", "value": "tok-123456", "type": "secret"})
    (tmp_path / "env.json").write_text(json.dumps(environment))
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / ".env").write_text("KEEP=me\napiToken=old\n")
    out = io.StringIO()
    status = main(["convert", str(FIXTURES / "shop.postman_collection.json"), "--out", str(cases),
                   "--environment", str(tmp_path / "env.json"), "--option", "folders=collection",
                   "--option", "environment=local"], out)
    printed = out.getvalue()
    assert status == 0, printed
    assert f"environment: 3 value(s) in {cases / '.env'}" in printed
    assert (cases / ".env").read_text() == f"KEEP=me\napiToken=tok-123456\nbaseUrl={shop.url}\n"
    assert (cases / ".env").stat().st_mode & 0o777 == 0o600
    [written] = sorted(cases.glob("*.yml"))
    assert "tok-123456" not in written.read_text() and shop.url not in written.read_text()
    (cases / "files").mkdir()
    (cases / "files" / "receipt.pdf").write_bytes(b"%PDF-1.4 receipt")
    ran = io.StringIO()
    assert main(["run", str(written), "--allow-private"], ran) == 0, ran.getvalue()
    assert "1 testcases: 1 passed" in ran.getvalue()
