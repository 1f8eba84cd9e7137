"""The issue's whole journey in the browser: register, sign in, project, environment, module,
a test case with a mistake marked on its line, fixed, debugged, saved, run; the report
finishing with a failing step's expected and actual; the dashboard's today against
GET /dashboard; a task with its next runs, paused; sign out and the pages closed."""
from __future__ import annotations

import json
import re
import subprocess
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, api_call, api_session, finished_report, outbox_code

MISTAKE = """config:
  name: shop checks
teststeps:
  - name: ok page
    request:
      method: GET
      url: /status/200
    validate:
      - eq: [status_code, 200]
  - name: broken page
    request:
      method: GET
      url: /status/500
    validate:
      - eqq: [status_code, 200]
"""
MISTAKE_LINE = 15  # the "eqq" validator: teststeps[1].validate[0]


def nav(page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def replace_editor_text(page, text: str) -> None:
    content = page.locator(".cm-content")
    content.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def register(console, stack, username: str) -> str:
    page = console.page
    email = f"{username}@example.com"
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    console.shot("01-signin")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/ui/register$"))
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Send code").click()
    # The button counts the server's resend_after down.
    expect(page.get_by_role("button", name=re.compile(r"Resend in \d+ s"))).to_be_disabled()
    page.get_by_label("Verification code", exact=True).fill("000000")
    page.get_by_role("button", name="Create account").click()
    # Each field error from the API is shown next to its field.
    expect(page.locator("#field-password-error")).to_be_visible()
    console.shot("02-register-errors")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Verification code", exact=True).fill(outbox_code(stack, email))
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/ui/signin"))
    return email


def sign_in(console, username: str, *, remember: bool = False) -> None:
    page = console.page
    page.get_by_label("Username, email or mobile", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    if remember:
        page.get_by_label("Remember me for 14 days", exact=True).check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_the_whole_journey(console, stack, target):
    page = console.page
    username = f"u{uuid.uuid4().hex[:10]}"
    register(console, stack, username)
    page.get_by_label("Username, email or mobile", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(console, username)
    console.shot("03-dashboard-empty")

    # A project, an environment pointing at the local API, a module.
    nav(page, "Projects").click()
    expect(page.get_by_text("No projects yet")).to_be_visible()
    page.get_by_label("New project name", exact=True).fill("shop")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="shop")).to_be_visible()
    project_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Add an environment").click()
    page.locator("#field-env-0-name").fill("local")
    page.locator("#field-env-0-base_url").fill(target)
    page.locator("#field-env-0-variables").fill('{"who": "browser"}')
    page.get_by_role("button", name="Save environments").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    console.shot("04-project-settings")
    page.get_by_role("link", name="Modules").click()
    page.get_by_label("New module name", exact=True).fill("checkout")
    page.get_by_role("button", name="Create module").click()
    page.get_by_role("link", name="checkout").click()
    expect(page.get_by_role("heading", name="checkout")).to_be_visible()
    console.shot("05-module-empty")

    # A test case with a mistake: marked on its line; fixed; debugged; saved.
    page.get_by_role("link", name="New test case").click()
    expect(page.locator(".cm-content")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("shop checks")
    replace_editor_text(page, MISTAKE)
    page.get_by_role("button", name="Save").click()
    problem = page.locator(".problems li").first
    expect(problem).to_contain_text("teststeps[1].validate[0]")
    expect(problem).to_have_attribute("data-line", str(MISTAKE_LINE))
    marker = page.locator(".cm-gutter-lint .cm-gutterElement").filter(
        has=page.locator(".cm-lint-marker-error"))
    expect(marker).to_have_count(1)
    console.shot("06-editor-mistake")
    replace_editor_text(page, MISTAKE.replace("eqq:", "eq:"))
    page.get_by_label("Environment", exact=True).select_option("local")
    page.get_by_role("button", name="Debug").click()
    debug = page.locator(".debug-pane")
    expect(debug.locator(".summary")).to_contain_text("1 run, 0 passed, 1 failed")
    expect(debug.locator("details.step.failed")).to_contain_text("broken page")
    expect(page.locator(".problems")).to_have_count(0)
    console.shot("07-editor-debugged")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/ui/testcases/[^/]+$"))
    expect(page.get_by_role("heading", name="shop checks")).to_be_visible()

    # Run the module; the report updates itself until it finishes.
    page.get_by_role("link", name="checkout").click()
    expect(page.get_by_role("link", name="shop checks")).to_be_visible()
    page.get_by_label("Environment", exact=True).select_option("local")
    page.get_by_role("button", name="Run module").click()
    expect(page).to_have_url(re.compile(r"/ui/reports/[^/]+$"))
    expect(page.locator(".report .summary .badge")).to_have_attribute("data-status", "failed", timeout=30_000)
    failing = page.locator("details.step.failed").first
    expect(failing).to_have_attribute("open", "")
    expect(failing.locator("td.expected")).to_have_text("200")
    expect(failing.locator("td.actual")).to_have_text("500")
    expect(page.get_by_role("link", name="Download JUnit XML")).to_be_visible()
    console.shot("08-report")

    # The CI webhook: a new secret shown once, and the signed curl example, run as pasted,
    # starts a run (202 with a report id).
    page.goto(f"/ui/projects/{project_id}/settings")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_test_id("webhook-secret")).to_have_text(re.compile(r".{20,}"))
    expect(page.locator("pre.code")).to_contain_text(f"/hooks/projects/{project_id}/runs")
    console.shot("09-webhook")
    example = page.locator("pre.code").inner_text()
    started = subprocess.run(["bash", "-c", example + " -s -w '\\n%{http_code}'"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    answer, _, status = started.rstrip().rpartition("\n")
    assert status == "202", started
    headers = api_session(stack, username)
    finished_report(stack, headers, json.loads(answer)["report_id"])  # so the dashboard holds still

    # The dashboard's bar for today matches GET /dashboard.
    nav(page, "Dashboard").click()
    board = api_call(stack, headers, "GET", "/dashboard")
    today = board["days"][-1]
    bar = page.locator("g.day").last
    expect(bar).to_have_attribute("data-date", today["date"])
    expect(bar).to_have_attribute("data-pass", str(today["pass"]))
    expect(bar).to_have_attribute("data-fail", str(today["fail"]))
    assert today["pass"] + today["fail"] >= 1
    expect(page.locator(".totals")).to_contain_text("1")
    expect(page.locator("table")).to_contain_text("failed")
    expect(page.locator("table")).to_contain_text("you (manual)")
    expect(page.locator("table")).to_contain_text("webhook")
    console.shot("10-dashboard")

    # A task: its crontab explained and its next runs while typing; created; paused.
    nav(page, "Tasks").click()
    expect(page.get_by_text("No tasks yet.")).to_be_visible()
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Name", exact=True).fill("weekday mornings")
    page.get_by_label("Crontab", exact=True).fill("0 8 * * 1-5")
    page.get_by_label("Time zone", exact=True).fill("Asia/Shanghai")
    preview = page.get_by_test_id("cron-preview")
    expect(preview).to_contain_text("at 08:00")
    expect(preview.locator("li")).to_have_count(3)
    page.get_by_label("Crontab", exact=True).fill("0 8 * *")
    expect(preview).to_contain_text("five fields")
    page.get_by_label("Crontab", exact=True).fill("0 8 * * 1-5")
    console.shot("11-task-new")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_test_id("server-next-runs").locator("li")).to_have_count(3)
    console.shot("12-task")
    nav(page, "Tasks").click()
    switch = page.get_by_role("switch", name="weekday mornings enabled")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    tasks = api_call(stack, headers, "GET", "/tasks")["items"]
    assert [task["enabled"] for task in tasks] == [False]
    console.shot("13-tasks")

    # Sign out: the pages close and the old cookie opens nothing.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    assert not [cookie for cookie in page.context.cookies() if cookie["name"].startswith("hat_")]
    page.goto(f"/ui/projects/{project_id}")
    expect(page).to_have_url(re.compile(r"/ui/signin\?next="))
    expect(page.get_by_text("shop")).to_have_count(0)
