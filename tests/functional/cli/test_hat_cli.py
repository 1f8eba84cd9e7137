"""The `hat` command's parts with no network: arguments, summaries, folder reading, waiting."""
from __future__ import annotations

import io
import json

import pytest
from hat_cli import main as cli_main
from hat_cli.client import Client, PlatformError, Refused, UsageError, _failure, _retry_after
from hat_cli.push import read_folder
from hat_cli.push import testcase_name as name_of
from hat_cli.remote import key_project, summary, wait_for


class Canned:
    """A Client stand-in answering GETs from a dict (path -> answer, or a list consumed in order)."""

    url = "https://hat.example.com"

    def __init__(self, answers: dict) -> None:
        self.answers = answers

    def get(self, path: str, **_kwargs):
        answer = self.answers[path]
        return answer.pop(0) if isinstance(answer, list) else answer


def test_the_key_and_url_are_required_and_checked():
    with pytest.raises(UsageError, match="HAT_URL"):
        Client("", "hat_x")
    with pytest.raises(UsageError, match="HAT_API_KEY"):
        Client("https://h", "")
    with pytest.raises(UsageError, match="start with hat_"):
        Client("https://h", "a-session-token")


def test_junit_without_wait_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("HAT_URL", "https://hat.example.com")
    monkeypatch.setenv("HAT_API_KEY", "hat_" + "a" * 43)
    assert cli_main.main(["run", "--project", "p", "--junit", "out.xml"]) == 2
    assert "--junit and --json need --wait" in capsys.readouterr().err


def test_api_errors_become_exit_codes():
    refused = _failure(403, json.dumps({"error": {"code": "insufficient_scope", "message": "no"}}).encode())
    assert isinstance(refused, Refused) and refused.exit_code == 2 and "insufficient_scope" in str(refused)
    assert _failure(502, b"<html>bad gateway</html>").exit_code == 3
    assert _failure(404, b"not json").exit_code == 2
    assert _retry_after("7", 0) == 7 and _retry_after(None, 2) == 4 and _retry_after("999", 0) == 30
    assert _retry_after("soon", 1) == 2


def test_the_project_must_be_the_keys():
    client = Canned({"/keys/current": {"project": {"id": "a" * 32, "name": "Shop"}}})
    assert key_project(client, "shop")["id"] == "a" * 32  # names fold case
    assert key_project(client, "a" * 32)["name"] == "Shop"
    with pytest.raises(UsageError, match="belongs to project 'Shop'"):
        key_project(client, "other")


def test_summary_names_each_failing_testcase():
    text = summary({"status": "failed", "tests_run": 2, "successes": 1, "failures": 1, "duration_ms": 1234,
                    "testcases": [{"name": "ok", "success": True, "steps": []},
                                  {"name": "broken", "success": False,
                                   "steps": [{"name": "get", "success": False, "error": None}]}]})
    assert text.splitlines() == ["hat: failed: 1/2 testcases passed, 1 failed in 1.2 s",
                                 "  FAIL broken: step 'get' failed"]


def test_waiting_shows_progress_and_times_out():
    report = "/reports/r1"
    client = Canned({report: [{"status": "queued"}, {"status": "running"}, {"status": "passed"}]})
    err, now = io.StringIO(), [0.0]
    done = wait_for(client, "r1", 60, err=err, clock=lambda: now[0],
                    sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert done["status"] == "passed"
    assert err.getvalue().splitlines() == ["hat: report r1: queued", "hat: report r1: running"]
    stuck = Canned({report: [{"status": "running"}] * 100})
    with pytest.raises(PlatformError, match="timed out after 5 s"):
        wait_for(stuck, "r1", 5, err=io.StringIO(), clock=lambda: now[0],
                 sleep=lambda s: now.__setitem__(0, now[0] + s))


def test_folders_are_modules_and_names_come_from_config(tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "a.json").write_text(json.dumps({"config": {"name": "create"}, "teststeps": []}))
    (tmp_path / "orders" / "b.json").write_text(json.dumps({"teststeps": []}))
    (tmp_path / "stray.json").write_text("{}")
    err = io.StringIO()
    modules = read_folder(tmp_path, err=err)
    assert list(modules) == ["orders"] and sorted(modules["orders"].testcases) == ["b", "create"]
    assert "not in a module folder" in err.getvalue()
    (tmp_path / "orders" / "c.json").write_text(json.dumps({"config": {"name": "Create"}, "teststeps": []}))
    with pytest.raises(UsageError, match="both testcase"):
        read_folder(tmp_path, err=io.StringIO())
    (tmp_path / "orders" / "c.json").write_text("[1")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_folder(tmp_path, err=io.StringIO())
    assert name_of(tmp_path / "x.yml", {"config": {"name": ""}}) == "x"


class Recording(Canned):
    """Canned GETs, and POSTs answered from `posted` while remembering their bodies."""

    def __init__(self, answers: dict, posted: dict) -> None:
        super().__init__(answers)
        self.posted, self.sent = posted, []

    def post(self, path: str, body=None):
        self.sent.append((path, body))
        return self.posted[path]

    def pages(self, path: str):
        return self.answers[path]


def _args(**fields):
    import argparse

    defaults = {"project": "shop", "env": None, "module": [], "wait": True, "timeout": 60, "junit": None,
                "json": None}
    return argparse.Namespace(**{**defaults, **fields})


def test_run_exit_codes_follow_the_report(capsys):
    from hat_cli.remote import run

    project = {"id": "a" * 32, "name": "shop"}
    for status, expected in (("passed", 0), ("failed", 1)):
        passed = status == "passed"
        client = Recording({"/keys/current": {"project": project},
                            "/reports/r1": {"status": status, "tests_run": 1, "successes": int(passed),
                                            "failures": int(not passed), "testcases": []}},
                           {f"/projects/{project['id']}/runs": {"report_id": "r1", "status": "queued"}})
        assert run(client, _args(), sleep=lambda s: None) == expected
    assert "report: https://hat.example.com/ui/#/reports/r1" in capsys.readouterr().out
    broken = Recording({"/keys/current": {"project": project},
                        "/reports/r1": {"status": "error", "error": "the project was deleted"}},
                       {f"/projects/{project['id']}/runs": {"report_id": "r1"}})
    with pytest.raises(PlatformError, match="the project was deleted") as raised:
        run(broken, _args(), sleep=lambda s: None)
    assert raised.value.exit_code == 3


def test_run_sends_modules_and_environment():
    from hat_cli.remote import run

    project = {"id": "a" * 32, "name": "shop"}
    modules = [{"id": "b" * 32, "name": "Orders"}, {"id": "c" * 32, "name": "smoke"}]
    client = Recording({"/keys/current": {"project": project}, f"/projects/{project['id']}/modules": modules},
                       {f"/projects/{project['id']}/runs": {"report_id": "r1"}})
    assert run(client, _args(module=["orders", "c" * 32], env="staging", wait=False)) == 0
    assert client.sent == [(f"/projects/{project['id']}/runs",
                            {"environment": "staging", "module_ids": ["b" * 32, "c" * 32]})]
    with pytest.raises(UsageError, match="no module 'billing'"):
        run(client, _args(module=["billing"], wait=False))
