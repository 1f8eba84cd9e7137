"""The project's API keys (shown once, working as a bearer token, dead once revoked), its
debugtalk.py (a syntax error on its line, the functions of a valid one, kept across a
reload, deleted), and the history sparklines of a test case and a task (marks per outcome
linking to their reports, flaky, failing since)."""
from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta

import requests
from playwright.sync_api import expect

from tests.browser.conftest import api_call, finished_report, make_account, sign_in_page
from tests.browser.test_journey import replace_editor_text


def _member(stack, prefix: str, name: str) -> tuple[str, dict, dict]:
    username = f"{prefix}{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    return username, headers, api_call(stack, headers, "POST", "/projects", {"name": name})


def test_an_api_key_is_shown_once_works_as_a_bearer_token_until_revoked(console, stack):
    username, headers, project = _member(stack, "k", "keyed")
    page = console.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
    sign_in_page(page, username)
    page.goto(f"/ui/projects/{project['id']}")
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="API keys").click()
    expect(page).to_have_url(re.compile(rf"/ui/projects/{project['id']}/keys$"))
    expect(page.get_by_text("No API keys yet.")).to_be_visible()

    # The API's refusals, each next to the field it names.
    page.get_by_label("read: the project, its test cases, reports and tasks", exact=True).uncheck()
    page.get_by_label("run: start runs and debug test cases", exact=True).uncheck()
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#field-key-name-error")).to_be_visible()
    expect(page.locator("#key-scopes-error")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("ci pipeline")
    page.get_by_label("read: the project, its test cases, reports and tasks", exact=True).check()
    page.get_by_label("Expires on (optional)", exact=True).fill("2020-01-01")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#field-key-expires-error")).to_contain_text("future")
    expect(page.locator("#field-key-name-error")).to_have_count(0)
    console.shot("keys-errors")

    expiry = (date.today() + timedelta(days=200)).isoformat()
    page.get_by_label("Expires on (optional)", exact=True).fill(expiry)
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_test_id("new-key")
    expect(shown).to_contain_text("you won't see it again")
    key = page.get_by_test_id("api-key").inner_text()
    assert re.fullmatch(r"hat_[A-Za-z0-9_-]{43}", key), key
    shown.get_by_role("button", name="Copy", exact=True).click()
    expect(shown.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    row = page.locator("tr[data-key='ci pipeline']")
    expect(row).to_contain_text("read")
    expect(row).to_contain_text("never")  # not used yet
    console.shot("keys-created")

    bearer = {"Authorization": f"Bearer {key}"}

    def status_with(headers: dict) -> int:
        return requests.get(f"{stack.url}/projects/{project['id']}", headers=headers, timeout=10).status_code

    answer = requests.get(f"{stack.url}/projects/{project['id']}", headers=bearer, timeout=10)
    assert answer.status_code == 200 and answer.json()["name"] == "keyed"
    current = requests.get(f"{stack.url}/keys/current", headers=bearer, timeout=10).json()
    assert current["name"] == "ci pipeline"

    # Gone after a reload; the list now has its last use.
    page.reload()
    expect(row).to_be_visible()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert key not in page.content()
    expect(row.locator("td").nth(4)).not_to_have_text("never")

    page.get_by_role("button", name="Revoke ci pipeline").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Anything using ci pipeline is refused")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert status_with(bearer) == 200
    page.get_by_role("button", name="Revoke ci pipeline").click()
    dialog.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status").filter(has_text="Revoked ci pipeline")).to_be_visible()
    expect(row).to_have_count(0)
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    assert status_with(bearer) == 401
    assert api_call(stack, headers, "GET", f"/projects/{project['id']}/keys")["items"] == []


BROKEN = "def sign(key):\n    return key +\n"
VALID = ("import hashlib\n\n\ndef sign(key, body):\n"
         "    return hashlib.sha256((key + body).encode()).hexdigest()\n\n\n"
         "async def later():\n    return 1\n\n\ndef _private():\n    return 2\n")


def test_debugtalk_syntax_error_on_its_line_then_saved_with_its_functions(console, stack):
    username, headers, project = _member(stack, "d", "coded")
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/projects/{project['id']}")
    page.get_by_role("link", name="debugtalk.py").click()
    expect(page.get_by_text("No debugtalk.py yet")).to_be_visible()
    expect(page.locator(".cm-content")).to_be_visible()
    expect(page.locator(".cm-content")).to_have_text("")

    replace_editor_text(page, BROKEN)
    page.get_by_role("button", name="Save").click()
    problem = page.locator(".problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_have_attribute("data-line", "2")
    expect(problem).to_contain_text("line 2")
    marker = page.locator(".cm-gutter-lint .cm-gutterElement").filter(
        has=page.locator(".cm-lint-marker-error"))
    expect(marker).to_have_count(1)
    console.shot("debugtalk-syntax-error")
    assert requests.get(f"{stack.url}/projects/{project['id']}/debugtalk", headers=headers,
                        timeout=10).status_code == 404

    replace_editor_text(page, VALID)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved version 1")).to_be_visible()
    expect(page.locator(".problems")).to_have_count(0)
    expect(page.get_by_test_id("debugtalk-functions").locator("li")).to_have_text(["later", "sign"])
    expect(page.get_by_text("No debugtalk.py yet")).to_have_count(0)
    console.shot("debugtalk-saved")

    page.reload()
    expect(page.locator(".cm-content")).to_contain_text("def sign(key, body):")
    expect(page.get_by_test_id("debugtalk-version")).to_contain_text("Version 1")
    expect(page.get_by_test_id("debugtalk-functions").locator("li")).to_have_text(["later", "sign"])
    stored = api_call(stack, headers, "GET", f"/projects/{project['id']}/debugtalk")
    assert stored["source"] == VALID and stored["functions"] == ["later", "sign"]

    page.get_by_role("button", name="Delete debugtalk.py").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete debugtalk.py").click()
    expect(page.get_by_text("No debugtalk.py yet")).to_be_visible()
    expect(page.get_by_test_id("debugtalk-functions")).to_have_count(0)
    assert requests.get(f"{stack.url}/projects/{project['id']}/debugtalk", headers=headers,
                        timeout=10).status_code == 404


def _history(stack, headers: dict, path: str, count: int, timeout: float = 30) -> dict:
    """The history once it holds `count` outcomes (it is written just after a report finishes)."""
    deadline = time.monotonic() + timeout
    while True:
        history = api_call(stack, headers, "GET", path)
        if len(history["items"]) >= count:
            return history
        assert time.monotonic() < deadline, f"{path}: {history}"
        time.sleep(0.2)


def test_history_sparklines_of_a_test_case_and_a_task(console, stack, target):
    username = f"h{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    environments = {"up": {"base_url": target, "variables": {"code": 200}},
                    "down": {"base_url": target, "variables": {"code": 500}}}
    project = api_call(stack, headers, "POST", "/projects", {"name": "flappy", "environments": environments})
    module = api_call(stack, headers, "POST", f"/projects/{project['id']}/modules", {"name": "api"})
    step = {"name": "status", "request": {"method": "GET", "url": "/status/${code}"},
            "validate": [{"eq": ["status_code", 200]}]}
    testcase = api_call(stack, headers, "POST", f"/modules/{module['id']}/testcases",
                        {"name": "status", "testcase": {"config": {"name": "status"}, "teststeps": [step]}})
    task = api_call(stack, headers, "POST", "/tasks", {"name": "broken nightly", "project_id": project["id"],
                                                       "crontab": "0 3 * * *", "timezone": "UTC",
                                                       "environment": "down"})
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/testcases/{testcase['id']}")
    expect(page.get_by_test_id("history")).to_contain_text("No runs yet.")

    reports = []
    for environment in ("up", "down", "up"):
        started = api_call(stack, headers, "POST", f"/testcases/{testcase['id']}/runs",
                           {"environment": environment})
        reports.append(finished_report(stack, headers, started["report_id"])["id"])
    history = _history(stack, headers, f"/testcases/{testcase['id']}/history", 3)
    assert [item["status"] for item in history["items"]] == ["passed", "failed", "passed"]
    assert history["flaky"] is True

    page.reload()
    panel = page.get_by_test_id("history")
    marks = panel.locator("svg a")
    expect(marks).to_have_count(3)
    for mark, report_id, status in zip(marks.all(), reports, ("passed", "failed", "passed"), strict=True):
        expect(mark).to_have_attribute("data-status", status)
        expect(mark).to_have_attribute("href", re.compile(rf"/ui/reports/{report_id}$"))
        expect(mark.locator("title")).to_have_text(re.compile(rf"^{status}, \d+ ms, "))
    expect(panel.locator(".badge.flaky")).to_have_text("flaky")
    expect(panel.locator(".failing-since")).to_have_count(0)  # the newest run passed
    console.shot("history-testcase")
    marks.nth(1).click()
    expect(page).to_have_url(re.compile(rf"/ui/reports/{reports[1]}$"))
    expect(page.locator(".report .summary .badge")).to_have_attribute("data-status", "failed")

    run = api_call(stack, headers, "POST", f"/tasks/{task['id']}/runs")
    task_report = finished_report(stack, headers, run["report_id"])
    _history(stack, headers, f"/tasks/{task['id']}/history", 1)
    page.goto(f"/ui/tasks/{task['id']}")
    panel = page.get_by_test_id("history")
    expect(panel.locator("svg a")).to_have_count(1)
    expect(panel.locator("svg a")).to_have_attribute("data-status", "failed")
    expect(panel.locator("svg a")).to_have_attribute("href", re.compile(rf"/ui/reports/{task_report['id']}$"))
    expect(panel.locator(".failing-since")).to_contain_text("failing since")
    expect(panel.locator(".badge.flaky")).to_have_count(0)
    console.shot("history-task")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/ui/tasks")
    row = page.locator("tr[data-task='broken nightly']")
    expect(row.locator("svg a")).to_have_count(1)
    expect(row.locator("svg a")).to_have_attribute("data-status", "failed")
    # The list brings every task's history with it: no request per task.
    assert any("/tasks?" in url and "include=history" in url for url in asked), asked
    assert not [url for url in asked if url.endswith("/history")], asked
