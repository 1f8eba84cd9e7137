"""The command line, on real files against a real server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.runner.cli import main

from .server import LocalServer

REPO_ROOT = Path(__file__).resolve().parents[3]

LOGIN_YAML = """
config:
  name: login
  variables: {user: nobody}
  export: [who]
teststeps:
  - name: log in
    request:
      method: POST
      url: /login
      json: {user: $user}
    extract:
      who: body.user
    validate:
      - eq: [status_code, 200]
"""

MAIN_YAML = """
config:
  name: main flow
  base_url: http://placeholder.invalid
teststeps:
  - name: log in first
    testcase: shared/login.yml
    variables: {user: "${ENV(USER_NAME)}"}
  - name: who am i
    request: {method: GET, url: /me}
    validate:
      - eq: [body.sid, "s-$who"]
"""

FAILING_JSON = {
    "config": {"name": "failing"},
    "teststeps": [{"name": "wrong status", "request": {"method": "GET", "url": "/status/500"},
                   "validate": [{"eq": ["status_code", 200, "server should be up"]}]},
                  {"name": "never runs", "request": {"method": "GET", "url": "/json"}}],
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cases" / "shared").mkdir(parents=True)
    (tmp_path / "cases" / "shared" / "login.yml").write_text(LOGIN_YAML)
    (tmp_path / "cases" / "main.yml").write_text(MAIN_YAML)
    return tmp_path


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["run", *map(str, args)], stdout=out)
    return code, out.getvalue()


def test_passing_run_with_relative_reference_vars_and_reports(
    server: LocalServer, project: Path
) -> None:
    junit, report_json = project / "out.xml", project / "out.json"
    code, out = cli(project / "cases" / "main.yml", "--base-url", server.url,
                    "--var", "USER_NAME=zoe", "--allow-private",
                    "--junit", junit, "--json", report_json)
    assert code == 0, out
    assert "PASS  main flow" in out
    assert "1 testcases: 1 passed, 0 failed" in out
    report = json.loads(report_json.read_text())
    ref_step = report["testcases"][0]["steps"][0]
    assert ref_step["exported"] == {"who": "zoe"}
    assert ref_step["testcase"].endswith("cases/shared/login.yml")
    assert ET.fromstring(junit.read_text()).get("tests") == "2"


def test_failures_exit_1_and_are_explained(server: LocalServer, project: Path) -> None:
    bad = project / "failing.json"
    bad.write_text(json.dumps(FAILING_JSON))
    broken = project / "broken.yml"
    broken.write_text("config: [unclosed")
    code, out = cli(bad, broken, project / "cases" / "main.yml", "--base-url", server.url,
                    "--var", "USER_NAME=zoe", "--allow-private")
    assert code == 1
    assert "FAIL  failing" in out
    assert 'equal "status_code": expected 200, actual 500 (server should be up' in out
    assert f"FAIL  {broken}" in out and "invalid YAML" in out
    assert "3 testcases: 1 passed, 2 failed" in out


def test_a_folder_runs_every_testcase_in_it(server: LocalServer, project: Path) -> None:
    code, out = cli(project / "cases", "--base-url", server.url, "--var", "USER_NAME=a",
                    "--allow-private", "--concurrency", "2")
    assert code == 0, out
    assert "2 testcases: 2 passed" in out  # main.yml and shared/login.yml


def test_the_guard_applies_unless_opened(
    server: LocalServer, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = project / "cases" / "shared" / "login.yml"
    monkeypatch.delenv("HAT_OUTBOUND_ALLOW", raising=False)
    code, out = cli(case, "--base-url", server.url)
    assert code == 1
    assert "error (outbound_refused)" in out
    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "127.0.0.0/8")
    assert cli(case, "--base-url", server.url)[0] == 0


def test_missing_reference_fails_its_testcase_before_sending(server: LocalServer, project: Path) -> None:
    case = project / "dangling.json"
    case.write_text(json.dumps({"config": {"name": "d"},
                                "teststeps": [{"name": "ref", "testcase": "nope.yml"}]}))
    code, out = cli(case, project / "absent.yml", "--base-url", server.url, "--allow-private")
    assert code == 1
    assert "referenced testcase" in out and "not found" in out
    assert "error: step 'ref'" in out  # the testcase, checked whole, never started
    assert f"FAIL  {project / 'absent.yml'}" in out and "no such file" in out


@pytest.mark.parametrize(
    "args",
    [["--var", "novalue"], ["--concurrency", "0"], ["--bogus"], []],
)
def test_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    target = [str(project / "cases" / "main.yml")] if args else [str(project / "empty")]
    (project / "empty").mkdir()
    with pytest.raises(SystemExit) as info:
        main(["run", *target, *args], stdout=io.StringIO())
    assert info.value.code == 2


def test_python_dash_m_entry_point(server: LocalServer, project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.runner", "run",
         str(project / "cases" / "shared" / "login.yml"), "--base-url", server.url,
         "--allow-private"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  login" in result.stdout


def test_references_resolve_from_the_project_root_whatever_the_working_directory(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As hrun finds it: the nearest folder up holding debugtalk.py, .env or testcases/
    (issue 17, item 12); a reference found nowhere names every path tried."""
    root = tmp_path / "proj"
    (root / "testcases" / "flows").mkdir(parents=True)
    (root / "testcases" / "shared").mkdir()
    (root / ".env").write_text("")
    (root / "testcases" / "shared" / "login.yml").write_text(LOGIN_YAML)
    main_doc = MAIN_YAML.replace("shared/login.yml", "testcases/shared/login.yml")
    (root / "testcases" / "flows" / "main.yml").write_text(main_doc)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out = cli(root / "testcases" / "flows" / "main.yml", "--base-url", server.url,
                    "--var", "USER_NAME=ann", "--allow-private")
    assert code == 0, out
    dangling = root / "testcases" / "flows" / "dangling.json"
    dangling.write_text(json.dumps({"config": {"name": "d"},
                                    "teststeps": [{"name": "ref", "testcase": "nope.yml"}]}))
    code, out = cli(dangling, "--base-url", server.url, "--allow-private")
    assert code == 1
    for tried in (root / "testcases" / "flows" / "nope.yml", root / "nope.yml",
                  elsewhere / "nope.yml"):
        assert str(tried) in out


def test_the_project_env_file_is_the_runs_environment_under_var(
    server: LocalServer, tmp_path: Path
) -> None:
    """HttpRunner's ${ENV(X)} reads the project's .env (issue 17, item 6); --var wins."""
    (tmp_path / "testcases").mkdir()
    (tmp_path / ".env").write_text("# a comment\nUSER_NAME = from-env\nOTHER: x\n\n")
    (tmp_path / "testcases" / "shared").mkdir()
    (tmp_path / "testcases" / "shared" / "login.yml").write_text(LOGIN_YAML)
    case = tmp_path / "testcases" / "main.yml"
    case.write_text(MAIN_YAML.replace("shared/login.yml", "testcases/shared/login.yml")
                    .replace('"s-$who"', '"s-from-env"'))
    code, out = cli(case, "--base-url", server.url, "--allow-private")
    assert code == 0, out
    code, out = cli(case, "--base-url", server.url, "--allow-private", "--var", "USER_NAME=v")
    assert code == 1  # --var's user, so not the session the check expects


def test_read_dot_env_refuses_lines_it_cannot_read() -> None:
    from chalicelib.runner.cli import read_dot_env

    assert read_dot_env("A=1\nB = two words\n# c\nC: 3") == {"A": "1", "B": "two words", "C": "3"}
    with pytest.raises(ValueError, match="line 2"):
        read_dot_env("A=1\nnot a pair")


def test_files_are_read_from_the_project_root(server: LocalServer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """upload and ${P(path)} name files relative to the project root (issue 17, item 11),
    whatever the working directory; a file that is not there fails its testcase."""
    (tmp_path / "testcases").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.csv").write_text("who,code\nann,200\nbob,200\n")
    case = tmp_path / "testcases" / "files.json"
    case.write_text(json.dumps({
        "config": {"name": "files", "parameters": {"who": "${P(data/users.csv)}"}},
        "teststeps": [
            {"name": "by row", "request": {"method": "GET", "url": "/echo", "params": {"u": "$who"}},
             "validate": [{"eq": ["body.query.u", "$who"]}]},
            {"name": "upload", "request": {"method": "POST", "url": "/echo",
                                           "upload": {"file": "data/users.csv", "note": "$who"}},
             "validate": [{"contains": ["body.body", 'filename="users.csv"']},
                          {"contains": ["body.body", "who,code\nann,200\nbob,200\n"]},
                          {"contains": ["body.headers.content-type", "multipart/form-data; boundary="]}]}]}))
    monkeypatch.chdir(tmp_path / "data")
    code, out = cli(case, "--base-url", server.url, "--allow-private")
    assert code == 0, out
    assert "files [who=ann]" in out and "files [who=bob]" in out
    (tmp_path / "data" / "users.csv").unlink()
    code, out = cli(case, "--base-url", server.url, "--allow-private")
    assert code == 1 and "no file 'data/users.csv' under the project root" in out


def test_a_file_is_checked_whole_before_anything_is_sent(server: LocalServer, tmp_path: Path) -> None:
    """As the platform checks it at save time (issue 17, item 12): a bad second step, a call
    in a variable no step uses, a bad referenced testcase: nothing of that file is sent, the
    message keeps the call's arguments and lists the builtins once."""
    (tmp_path / "testcases").mkdir()
    seen = tmp_path / "testcases"
    (seen / "bad_ref.json").write_text(json.dumps({
        "config": {"name": "bad ref"}, "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/x"},
                                                      "validate": [{"eq": ["status_code", 200]}]}]}).replace(
        '"request"', '"requets"'))
    cases = {
        "second_step.json": [{"name": "first", "request": {"method": "GET", "url": "/echo?n=1"}},
                             {"name": "second", "request": {"method": "GET", "url": "/echo?n=2"},
                              "validate": [{"equals": ["status_code", "${sum_two(1, 2)}"]}]}],
        "unused.json": [{"name": "only", "variables": {"unused": "${sum_two(1, $x)}", "other": "${gen()}"},
                         "request": {"method": "GET", "url": "/echo?n=3"}}],
        "calls_bad_ref.json": [{"name": "first", "request": {"method": "GET", "url": "/echo?n=4"}},
                               {"name": "then", "testcase": "testcases/bad_ref.json"}],
    }
    for name, steps in cases.items():
        (seen / name).write_text(json.dumps({"config": {"name": name}, "teststeps": steps}))
    code, out = cli(*(seen / n for n in cases), "--base-url", server.url, "--allow-private")
    assert code == 1
    assert "3 testcases: 0 passed, 3 failed" in out, out
    assert "${sum_two(1, 2)} is not a safe builtin" in out
    assert "${sum_two(1, $x)} is not a safe builtin" in out and "${gen()} is not a safe builtin" in out
    errors = [line for line in out.splitlines() if line.strip().startswith("error:")]
    assert [e.count("the safe builtins:") for e in errors] == [1, 1, 0]  # unused.json's two calls: one list
    assert "write the value it returns" in out
    assert "referenced testcase" in out and "requets" in out
    assert "HTTP 200" not in out  # no step ran


def test_a_file_nested_past_the_limit_fails_with_its_reason_not_a_crash(tmp_path: Path) -> None:
    """libyaml's composer recurses per level in C: 200 000 open brackets would take the
    process down before Python sees a RecursionError. The scan refuses the file first."""
    (tmp_path / "deep.yml").write_text("config: " + "[" * 200_000)
    (tmp_path / "deep.json").write_text('{"config": ' * 100 + "{}" + "}" * 100)
    code, out = cli(tmp_path / "deep.yml", tmp_path / "deep.json")
    assert code == 1
    assert f"FAIL  {tmp_path / 'deep.yml'}" in out and "YAML nested more than 64 levels deep" in out
    assert f"FAIL  {tmp_path / 'deep.json'}" in out and "JSON nested more than 64 levels deep" in out
