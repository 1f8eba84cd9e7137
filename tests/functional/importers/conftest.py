"""The shop server the import fixtures talk to, and a way to run converted testcases on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.importers.shop_server import ShopServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"
# what the project environment would hold for the sources' security variables
SECRETS = {
    "api_key": "key-123",
    "bearer": "tok-admin-1",
    "basic_username": "admin",
    "basic_password": "pw",
    "token": "Bearer tok-ann-1",
    "SHOP_TOKEN": "tok-ann-1",
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "secret",
}


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shop():
    with ShopServer() as server:
        yield server


@pytest.fixture
def run_on(shop):
    """run_on(conversion or documents, base_path="") -> the runner's report, every step against the
    shop; `files`: the project root its uploads read from (the CLI's DirectoryFiles)."""
    from chalicelib.runner.engine import run_testcases_sync
    from chalicelib.runner.files import DirectoryFiles, no_files
    from chalicelib.runner.schema import validate_testcase

    def run(
        documents,
        base_path: str = "",
        base_url: bool = True,
        variables: dict | None = None,
        files: Path | None = None,
    ) -> dict:
        documents = (
            [t.document for t in documents.testcases] if hasattr(documents, "testcases") else documents
        )
        for document in documents:
            validate_testcase(document)
        return run_testcases_sync(
            json.loads(json.dumps(documents)),
            allow_private=True,
            base_url=shop.url + base_path if base_url else None,
            environment={"variables": {**SECRETS, **(variables or {})}},
            read_file=DirectoryFiles(files) if files is not None else no_files,
        )

    return run


def project_files(root: Path, files: dict[str, bytes]) -> Path:
    """A project root holding `files` (path -> bytes), as a user uploads them after an import."""
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


RECEIPT = b"%PDF-1.4 receipt of order ord-000042"


def failures(report: dict) -> list[str]:
    out = []
    for case in report["testcases"]:
        if case.get("error"):
            out.append(f"{case['name']}: {case['error']}")
        for step in case.get("steps") or []:
            if not step["success"]:
                bad = [v.get("message") for v in step.get("validators") or [] if v.get("result") != "pass"]
                out.append(f"{case['name']} / {step['name']}: {step.get('error')} {bad}")
    return out
