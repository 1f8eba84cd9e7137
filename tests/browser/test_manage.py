"""The rest of what a user does: password reset, project settings (rename, members,
delete with its confirmation), importing a test case from a file (picker and drop), and
editing, running and deleting a task."""
from __future__ import annotations

import json
import re
import uuid

import requests
from playwright.sync_api import expect

from tests.browser.conftest import api_call, make_account, outbox_code, sign_in_page


def test_password_reset_with_the_code_then_sign_in_with_the_new_one(console, stack):
    username = f"w{uuid.uuid4().hex[:10]}"
    mobile = f"+86138{uuid.uuid4().int % 10**8:08d}"  # by SMS: the email just had its register code
    make_account(stack, username, mobile=mobile)
    page = console.page
    page.goto("/ui/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email or mobile", exact=True).fill(mobile)
    page.get_by_label("by SMS", exact=True).check()
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_role("button", name=re.compile(r"Resend in \d+ s"))).to_be_disabled()
    page.get_by_label("Verification code", exact=True).fill(outbox_code(stack, mobile))
    page.get_by_label("New password", exact=True).fill("another long secret")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("status")).to_contain_text("password is changed")
    console.shot("reset-done")
    page.goto("/ui/signin")
    page.get_by_label("Username, email or mobile", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill("another long secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_project_settings_rename_members_and_delete(console, stack):
    owner = f"o{uuid.uuid4().hex[:10]}"
    friend = f"f{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, owner)
    make_account(stack, friend)
    project = api_call(stack, headers, "POST", "/projects", {"name": "old name"})
    page = console.page
    sign_in_page(page, owner)
    page.goto(f"/ui/projects/{project['id']}/settings")
    page.get_by_label("Name", exact=True).fill("new name")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="new name")).to_be_visible()
    page.get_by_label("Username", exact=True).fill(friend)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("button", name=f"Remove {friend}")).to_be_visible()
    page.get_by_label("Username", exact=True).fill("nobody_here")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    console.shot("project-members")
    page.get_by_role("button", name=f"Remove {friend}").click()
    expect(page.get_by_role("button", name=f"Remove {friend}")).to_have_count(0)
    page.get_by_role("button", name="Delete project").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("This deletes new name with its 0 modules and 0 test cases")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete project").click()
    dialog.get_by_role("button", name="Delete project").click()
    expect(page).to_have_url(re.compile(r"/ui/projects$"))
    expect(page.get_by_text("No projects yet")).to_be_visible()


def test_a_test_case_imported_from_a_file_by_picker_or_drop(console, stack, tmp_path):
    username = f"i{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    project = api_call(stack, headers, "POST", "/projects", {"name": "imports"})
    module = api_call(stack, headers, "POST", f"/projects/{project['id']}/modules", {"name": "files"})
    document = {"config": {"name": "from a file"}, "teststeps": [
        {"name": "picked", "request": {"method": "GET", "url": "http://127.0.0.1:9/"}}]}
    source = tmp_path / "case.json"
    source.write_text(json.dumps(document))
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/modules/{module['id']}/new")
    expect(page.locator(".cm-content")).to_be_visible()
    page.get_by_label("Import from a file", exact=True).set_input_files(str(source))
    expect(page.get_by_role("status").filter(has_text="Imported case.json")).to_be_visible()
    expect(page.get_by_label("Format", exact=True)).to_have_value("json")
    expect(page.locator(".cm-content")).to_contain_text('"picked"')
    dropped = ("config:\n  name: dropped\n"
               "teststeps:\n  - name: dropped step\n    request: {method: GET, url: /}\n")
    transfer = page.evaluate_handle("""(text) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], 'dropped.yaml', {type: 'application/yaml'}));
        return transfer;
    }""", dropped)
    page.locator(".editor-host").dispatch_event("drop", {"dataTransfer": transfer})
    expect(page.get_by_label("Format", exact=True)).to_have_value("yaml")
    expect(page.locator(".cm-content")).to_contain_text("dropped step")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/ui/testcases/[^/]+$"))
    saved = api_call(stack, headers, "GET", f"/testcases/{page.url.rsplit('/', 1)[1]}")
    assert saved["testcase"]["teststeps"][0]["name"] == "dropped step"


def test_a_task_edited_run_now_and_deleted(console, stack):
    username = f"t{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    project = api_call(stack, headers, "POST", "/projects", {"name": "tasks"})
    task = api_call(stack, headers, "POST", "/tasks", {"name": "hourly", "project_id": project["id"],
                                                       "crontab": "0 * * * *", "timezone": "UTC"})
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/tasks/{task['id']}")
    page.get_by_label("Crontab", exact=True).fill("15 9 1 * *")
    expect(page.get_by_test_id("cron-preview")).to_contain_text("at 09:15, on day 1 of the month")
    page.get_by_label("Crontab", exact=True).fill("61 * * * *")
    expect(page.get_by_test_id("cron-preview")).to_contain_text("the minute field is not valid")
    page.get_by_label("Crontab", exact=True).fill("15 9 1 * *")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/ui/tasks$"))
    expect(page.locator("tr[data-task='hourly']")).to_contain_text("15 9 1 * *")
    page.get_by_role("link", name="hourly").click()
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/ui/reports/[^/]+$"))
    expect(page.locator(".report .summary .badge")).not_to_have_attribute(
        "data-status", re.compile("queued|running"), timeout=30_000)
    page.goto(f"/ui/tasks/{task['id']}")
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/ui/tasks$"))
    expect(page.get_by_text("No tasks yet.")).to_be_visible()
    assert requests.get(f"{stack.url}/tasks/{task['id']}", headers=headers, timeout=10).status_code == 404


def test_the_profile_time_zone_moves_the_dashboard_days(console, stack):
    username = f"z{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    page = console.page
    sign_in_page(page, username)
    expect(page.get_by_role("heading", name="Last 12 days (UTC)")).to_be_visible()
    page.goto("/ui/profile")
    page.get_by_label("Time zone", exact=True).fill("Not/AZone")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Time zone", exact=True).fill("Asia/Shanghai")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Last 12 days (Asia/Shanghai)")).to_be_visible()
    assert api_call(stack, headers, "GET", "/dashboard")["timezone"] == "Asia/Shanghai"
