"""What the browser sees of the session and the page's defences: cookie flags, the CSRF
refusal, the CSP on every HTML answer, and user text always rendered as text."""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import api_call, finished_report, make_account, sign_in_page

XSS = "<img src=x onerror=alert(1)>"


def hat_cookies(page) -> dict[str, dict]:
    return {cookie["name"]: cookie for cookie in page.context.cookies() if cookie["name"].startswith("hat_")}


def test_session_cookie_is_httponly_strict_and_lasts_until_the_browser_closes(console, stack):
    username = f"c{uuid.uuid4().hex[:10]}"
    make_account(stack, username)
    sign_in_page(console.page, username)
    cookies = hat_cookies(console.page)
    session, csrf = cookies["hat_session"], cookies["hat_csrf"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/"
    assert not csrf["httpOnly"] and csrf["sameSite"] == "Strict"
    assert session["expires"] == -1 and csrf["expires"] == -1  # browser-session cookies
    assert not session["secure"]  # http://127.0.0.1: Secure only when the public URL is https
    visible = console.page.evaluate("document.cookie")
    assert "hat_csrf=" in visible and "hat_session" not in visible
    storage = console.page.evaluate(
        "JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage)])")
    assert "token" not in storage.lower() and "session" not in storage.lower()


def test_remember_me_keeps_the_session_for_14_days(console, stack):
    username = f"r{uuid.uuid4().hex[:10]}"
    make_account(stack, username)
    sign_in_page(console.page, username, remember=True)
    session = hat_cookies(console.page)["hat_session"]
    assert session["expires"] == pytest.approx(time.time() + 14 * 24 * 3600, abs=120)


def test_a_cookie_request_without_the_csrf_header_is_refused(console, stack):
    username = f"x{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    sign_in_page(console.page, username)
    refused = console.page.evaluate("""async () => {
        const r = await fetch('../projects', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'forged'})});
        return [r.status, (await r.json()).error.code];
    }""")
    assert refused == [403, "csrf_failed"]
    allowed = console.page.evaluate("""async () => {
        const csrf = document.cookie.split('; ').find(c => c.startsWith('hat_csrf=')).slice(9);
        const r = await fetch('../projects', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-Hat-CSRF': csrf},
            body: JSON.stringify({name: 'real'})});
        return r.status;
    }""")
    assert allowed == 201
    names = [project["name"] for project in api_call(stack, headers, "GET", "/projects")["items"]]
    assert names == ["real"]


@pytest.mark.parametrize("path", ["/ui/", "/ui/signin", "/ui/projects/abc", "/ui/projects/abc/settings",
                                  "/ui/tasks/new", "/ui/no/such/page", "/docs"])
def test_every_html_answer_carries_the_csp_and_friends(console, path):
    response = console.page.goto(path)
    headers = response.headers
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"]


def test_the_root_redirects_to_the_console(stack):
    response = requests.get(f"{stack.url}/", allow_redirects=False, timeout=10)
    assert response.status_code == 302 and response.headers["Location"] == "/ui/"


def test_a_hostile_project_name_shows_as_text_everywhere(console, stack):
    username = f"h{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    project = api_call(stack, headers, "POST", "/projects", {"name": XSS})
    module = api_call(stack, headers, "POST", f"/projects/{project['id']}/modules", {"name": XSS})
    api_call(stack, headers, "POST", f"/modules/{module['id']}/testcases", {
        "name": XSS, "testcase": {"config": {"name": XSS}, "teststeps": [
            {"name": XSS, "request": {"method": "GET", "url": "http://127.0.0.1:9/"}}]}})
    report_id = api_call(stack, headers, "POST", f"/modules/{module['id']}/runs", {})["report_id"]
    finished_report(stack, headers, report_id)
    dialogs: list[str] = []
    page = console.page
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in_page(page, username)
    for path, name in [("/ui/projects", "projects"), (f"/ui/projects/{project['id']}", "project"),
                       (f"/ui/projects/{project['id']}/settings", "settings"),
                       (f"/ui/modules/{module['id']}", "module"), ("/ui/", "dashboard"),
                       (f"/ui/projects/{project['id']}/reports", "reports"),
                       (f"/ui/reports/{report_id}", "report")]:
        page.goto(path)
        expect(page.get_by_text(XSS, exact=True).first).to_be_visible()
        assert page.locator("img").count() == 0, path
        console.shot(f"xss-{name}")
    page.goto("/ui/tasks/new")
    expect(page.locator("#field-task-project option:checked")).to_have_text(XSS)
    page.goto(f"/ui/projects/{project['id']}/settings")
    page.get_by_role("button", name="Delete project").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"This deletes {XSS}")
    assert page.locator("img").count() == 0
    assert not dialogs


def test_signed_out_pages_send_to_sign_in_and_back_after(console, stack):
    username = f"n{uuid.uuid4().hex[:10]}"
    make_account(stack, username)
    page = console.page
    page.goto("/ui/tasks")
    expect(page).to_have_url(re.compile(r"/ui/signin\?next=%2Ftasks$"))
    page.get_by_label("Username, email or mobile", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/tasks$"))
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()


def test_a_session_ended_elsewhere_sends_the_page_to_sign_in(console, stack):
    username = f"e{uuid.uuid4().hex[:10]}"
    make_account(stack, username)
    page = console.page
    sign_in_page(page, username)
    # The dashboard's own loads must be answered first: one still in flight at the logout gets
    # a 401 and sends the page to sign-in before the click this test makes.
    expect(page.get_by_text("No reports yet: run a module to see one here.")).to_be_visible()
    expect(page.get_by_role("region", name="Totals")).to_be_visible()
    token = hat_cookies(page)["hat_session"]["value"]
    requests.post(f"{stack.url}/auth/logout", headers={"Authorization": f"Bearer {token}"},
                  timeout=10).raise_for_status()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page).to_have_url(re.compile(r"/ui/signin\?next=%2Fprojects$"))
