"""Every page, as a user notices it: labelled fields and buttons with text, usable at 390 px,
a 404 page, keyboard focus, and the Chinese catalogue. Screenshots of each (desktop, mobile)."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import api_call, finished_report, make_account, sign_in_page

UNLABELLED = """() => {
  const problems = [];
  for (const field of document.querySelectorAll('input, select, textarea')) {
    const labelled = (field.labels && field.labels.length) || field.getAttribute('aria-label');
    if (!labelled) problems.push(field.outerHTML);
  }
  for (const button of document.querySelectorAll('button, a.button')) {
    if (!button.textContent.trim() && !button.getAttribute('aria-label')) problems.push(button.outerHTML);
  }
  return problems;
}"""


@pytest.fixture
def world(stack, target):
    """A user with a project (environment pointing at a local API), a module, a test case,
    a finished report, a retried one (its attempts and earlier failures) and a task with
    retries and a run's re-sync of imports, made through the API."""
    username = f"p{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)

    def call(method: str, path: str, body: object = None) -> dict:
        return api_call(stack, headers, method, path, body)

    project = call("POST", "/projects", {"name": "shop", "environments": {"local": {"base_url": target}}})
    module = call("POST", f"/projects/{project['id']}/modules", {"name": "checkout"})
    step = {"name": "home", "request": {"method": "GET", "url": "/status/200"},
            "validate": [{"eq": ["status_code", 200]}]}
    testcase = call("POST", f"/modules/{module['id']}/testcases",
                    {"name": "home", "testcase": {"config": {"name": "home"}, "teststeps": [step]}})
    report_id = call("POST", f"/modules/{module['id']}/runs", {"environment": "local"})["report_id"]
    finished_report(stack, headers, report_id)
    broken = call("POST", f"/modules/{module['id']}/testcases", {"name": "broken", "testcase": {
        "config": {"name": "broken"}, "teststeps": [{**step, "name": "down", "request": {
            "method": "GET", "url": "/status/503"}}]}})
    retried_id = call("POST", f"/testcases/{broken['id']}/runs", {"environment": "local", "retries": {
        "attempts": 1, "backoff": "fixed", "delay_seconds": 1, "max_total_seconds": 60}})["report_id"]
    assert len(finished_report(stack, headers, retried_id)["attempts"]) == 2
    task = call("POST", "/tasks", {"name": "nightly", "project_id": project["id"], "crontab": "30 2 * * *",
                                   "timezone": "Asia/Shanghai", "sync_imports": True, "retries": {
                                       "attempts": 3, "backoff": "exponential", "delay_seconds": 30,
                                       "max_total_seconds": 600}})
    call("POST", f"/tasks/{task['id']}/runs")  # its re-sync (no module from a URL: nothing) shown on its page
    return {"username": username, "pages": {
        "dashboard": "/ui/", "projects": "/ui/projects", "project": f"/ui/projects/{project['id']}",
        "project-reports": f"/ui/projects/{project['id']}/reports",
        "project-settings": f"/ui/projects/{project['id']}/settings",
        "project-keys": f"/ui/projects/{project['id']}/keys",
        "project-debugtalk": f"/ui/projects/{project['id']}/debugtalk",
        "project-import": f"/ui/projects/{project['id']}/import",
        "module": f"/ui/modules/{module['id']}", "module-import": f"/ui/modules/{module['id']}/import",
        "testcase": f"/ui/testcases/{testcase['id']}", "testcase-new": f"/ui/modules/{module['id']}/new",
        "report": f"/ui/reports/{report_id}", "report-retried": f"/ui/reports/{retried_id}",
        "tasks": "/ui/tasks", "task": f"/ui/tasks/{task['id']}",
        "task-new": "/ui/tasks/new", "profile": "/ui/profile", "not-found": "/ui/nowhere/at/all"}}


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.locator(".state.loading")).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_is_labelled_and_fits(console, world, width):
    page = console.page
    page.set_viewport_size({"width": width, "height": 860})
    sign_in_page(page, world["username"])
    for name, path in world["pages"].items():
        page.goto(path)
        settle(page)
        if name in ("testcase", "testcase-new", "project-debugtalk"):
            expect(page.locator(".cm-content")).to_be_visible()
        if name == "report-retried":  # the attempts, and the earlier failure opened
            expect(page.get_by_test_id("attempts").locator("li")).to_have_count(2)
            page.get_by_test_id("earlier-attempts").locator(":scope > summary").click()
            expect(page.locator(".earlier-attempt td.actual")).to_have_text("503")
        if name == "task":
            expect(page.get_by_test_id("retry-preview")).to_have_text("waits 30 s, 60 s, 120 s")
            expect(page.get_by_test_id("last-import-sync")).to_contain_text("No module is imported")
        assert page.evaluate(UNLABELLED) == [], name
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)
            .map(e => e.tagName + '.' + e.className + '#' + e.id)""")
        assert overflow <= 1, f"{name} is {overflow}px wider than {width}px: {wide}"
        console.shot(f"{'mobile' if width < 600 else 'desktop'}-{name}")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Main")
    if width < 600:  # the header folds into a menu button
        expect(navigation).to_be_hidden()
        page.get_by_role("button", name="Menu").click()
    navigation.get_by_role("link", name="Projects").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def test_signed_out_pages_are_labelled(console):
    page = console.page
    for name in ("signin", "register", "reset"):
        page.goto(f"/ui/{name}")
        settle(page)
        assert page.evaluate(UNLABELLED) == [], name
        page.set_viewport_size({"width": 390, "height": 760})
        console.shot(f"mobile-{name}")
        page.set_viewport_size({"width": 1280, "height": 860})


def test_keyboard_reaches_the_form_with_visible_focus(console):
    page = console.page
    page.goto("/ui/signin")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "field-account"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_chinese_is_chosen_from_the_browser_and_switchable(browser, stack, world):
    context = browser.new_context(base_url=stack.url, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/ui/signin")
    expect(page.get_by_role("heading", name="登录 hat")).to_be_visible()
    page.get_by_label("用户名、邮箱或手机号", exact=True).fill(world["username"])
    page.get_by_label("密码", exact=True).fill("correct horse battery")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="仪表盘")).to_be_visible()
    page.screenshot(path=str(_shots() / "zh-dashboard.png"), full_page=True)
    page.goto(world["pages"]["profile"])
    page.get_by_label("语言", exact=True).select_option("en")
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    context.close()
    assert not errors


def _shots():
    from tests.browser.conftest import SCREENSHOTS_DIR

    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS_DIR
