"""A task's retries and re-sync of imports in the console, against the real stack: the retry
policy set through the task form (the API's 400 shown at the field it names, nothing saved;
the wait schedule previewed for each backoff, capped at 900 s and cut by the budget; saved,
shown after a reload, turned off), `sync_imports` saved and the last re-sync's outcome per
module on the task page, and a real retried run (the stack's worker, SQS DelaySeconds) on
the report page: the attempts timeline with "next attempt at" while the second attempt is
held at the target, then "passed on attempt 2" with the earlier failure to expand."""
from __future__ import annotations

import json
import re
import threading
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import api_call, make_account, sign_in_page
from tests.functional.local_http import JsonHandler, LocalHttpServer

HOLD_SECONDS = 20  # the longest the target holds the second attempt's request for the test


def _operation(operation_id: str) -> dict:
    return {"operationId": operation_id, "responses": {"200": {"description": "ok"}}}


class TargetApi(JsonHandler):
    """The project's API: GET /flaky answers 500 the first time, and the next request (the
    retry's) only once `release` is set, 200, after saying so on `retried`; GET /status/<code>
    answers that code; GET /specs/pets serves `document`; the pets routes answer 200."""

    lock = threading.Lock()
    flaky_calls = 0
    retried = threading.Event()
    release = threading.Event()
    document: dict = {}

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/flaky":
            with self.lock:
                TargetApi.flaky_calls += 1
                first = TargetApi.flaky_calls == 1
            if first:
                self._json(500, {"error": "warming up"})
                return
            self.retried.set()
            self.release.wait(HOLD_SECONDS)
            self._json(200, {"ok": True})
        elif self.path.startswith("/status/"):
            self._json(int(self.path.removeprefix("/status/")), {})
        elif self.path == "/specs/pets":
            self._send(200, json.dumps(self.document).encode(), [("Content-Type", "application/json")])
        elif self.path.startswith("/pets"):
            self._json(200, [{"id": 7}])
        else:
            self._json(404, {})


@pytest.fixture
def target_api():
    TargetApi.flaky_calls = 0
    TargetApi.retried.clear()
    TargetApi.release.clear()
    with LocalHttpServer(TargetApi) as server:
        yield server
    TargetApi.release.set()


def _world(stack, prefix: str, base_url: str) -> tuple[dict, dict, dict]:
    """An account, its project (environment `local` at `base_url`) and a module."""
    username = f"{prefix}{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    project = api_call(stack, headers, "POST", "/projects", {"name": "shop", "environments": {
        "local": {"base_url": base_url}}})
    module = api_call(stack, headers, "POST", f"/projects/{project['id']}/modules", {"name": "checkout"})
    return {"username": username, "headers": headers}, project, module


def _case(name: str, url: str) -> dict:
    return {"name": name, "testcase": {"config": {"name": name}, "teststeps": [{
        "name": f"{name} step", "request": {"method": "GET", "url": url},
        "validate": [{"eq": ["status_code", 200]}]}]}}


def _import_from_url(stack, headers: dict, module_id: str, source_url: str) -> dict:
    """A module imported from an OpenAPI URL (the server fetches it; no body)."""
    answer = requests.post(f"{stack.url}/modules/{module_id}/import", params={"source_url": source_url},
                           headers=headers, timeout=20)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _save_and_wait_for_the_list(page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()


def test_retries_through_the_task_form(console, stack, target):
    user, project, _module = _world(stack, "r", target)
    task = api_call(stack, user["headers"], "POST", "/tasks", {"name": "nightly", "project_id": project["id"],
                                                               "crontab": "0 3 * * *", "timezone": "UTC"})
    assert task["retries"] is None and task["sync_imports"] is False
    page = console.page
    sign_in_page(page, user["username"])
    page.goto(f"/ui/tasks/{task['id']}")
    section = page.get_by_test_id("retries")
    switch = section.get_by_label("Retry a failed run (its failing test cases run again)")
    expect(switch).not_to_be_checked()
    expect(section.get_by_label("Extra attempts")).to_have_count(0)  # off: nothing to fill in
    switch.check()

    attempts, backoff = section.get_by_label("Extra attempts"), section.get_by_label("Backoff")
    delay = section.get_by_label("Base delay (seconds)")
    budget = section.get_by_label("Total budget (seconds)")
    preview = section.get_by_test_id("retry-preview")
    expect(preview).to_have_text("waits 30 s, 30 s")  # the defaults: 2 attempts, fixed, 30 s, 600 s
    attempts.fill("3")
    for value, waits in (("fixed", "30 s, 30 s, 30 s"), ("linear", "30 s, 60 s, 90 s"),
                         ("exponential", "30 s, 60 s, 120 s")):
        backoff.select_option(value)
        expect(preview).to_have_text(f"waits {waits}")
    delay.fill("500")
    budget.fill("3600")
    expect(preview).to_have_text("waits 500 s, 900 s, 900 s")  # 1000 and 2000 s: each wait at most 900 s
    delay.fill("30")
    budget.fill("100")  # 30 + 60 fit, the third would be due at 210 s
    expect(preview).to_have_text("waits 30 s, 60 s (then none: the next would be due past the 100 s budget)")
    budget.fill("20")
    expect(preview).to_have_text("no retry: the first would be due past the budget")
    budget.fill("12.5")
    expect(preview).to_have_text("Whole numbers only: the waits show once each field holds one.")

    attempts.fill("9")  # the API's to judge: 0 to 5, and a whole number
    page.get_by_role("button", name="Save", exact=True).click()
    # each message beside its field (Field's "<id>-error", which the input is described by)
    expect(page.locator("#field-retries-attempts-error")).to_have_text(
        "Input should be less than or equal to 5")
    expect(attempts).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-retries-budget-error")).to_have_text("Input should be a valid integer")
    expect(page.locator("#field-retries-delay-error")).to_have_count(0)
    console.shot("task-retries-refused")
    assert api_call(stack, user["headers"], "GET", f"/tasks/{task['id']}")["retries"] is None  # nothing saved

    attempts.fill("3")
    budget.fill("600")
    _save_and_wait_for_the_list(page)
    saved = api_call(stack, user["headers"], "GET", f"/tasks/{task['id']}")
    assert saved["retries"] == {"attempts": 3, "backoff": "exponential", "delay_seconds": 30,
                                "max_total_seconds": 600}

    page.goto(f"/ui/tasks/{task['id']}")
    section = page.get_by_test_id("retries")
    expect(section.get_by_label("Retry a failed run (its failing test cases run again)")).to_be_checked()
    expect(section.get_by_label("Extra attempts")).to_have_value("3")
    expect(section.get_by_label("Backoff")).to_have_value("exponential")
    expect(section.get_by_label("Base delay (seconds)")).to_have_value("30")
    expect(section.get_by_label("Total budget (seconds)")).to_have_value("600")
    expect(section.get_by_test_id("retry-preview")).to_have_text("waits 30 s, 60 s, 120 s")
    console.shot("task-retries-saved")

    section.get_by_label("Retry a failed run (its failing test cases run again)").uncheck()
    _save_and_wait_for_the_list(page)
    assert api_call(stack, user["headers"], "GET", f"/tasks/{task['id']}")["retries"] is None


def test_sync_imports_saved_and_the_last_resync_shown(console, stack, target_api):
    user, project, module = _world(stack, "s", target_api.url)
    TargetApi.document = {"openapi": "3.1.0", "info": {"title": "pets"}, "servers": [{"url": target_api.url}],
                          "paths": {"/pets": {"get": _operation("listPets")}}}
    pets = api_call(stack, user["headers"], "POST", f"/projects/{project['id']}/modules", {"name": "pets"})
    imported = _import_from_url(stack, user["headers"], pets["id"], f"{target_api.url}/specs/pets")
    assert [case["name"] for case in imported["testcases"]] == ["listPets"]
    task = api_call(stack, user["headers"], "POST", "/tasks", {
        "name": "synced", "project_id": project["id"], "module_ids": [pets["id"], module["id"]],
        "crontab": "0 3 * * *", "timezone": "UTC", "environment": "local"})
    page = console.page
    sign_in_page(page, user["username"])
    page.goto(f"/ui/tasks/{task['id']}")
    sync = page.get_by_label("Re-sync modules imported from an OpenAPI URL before each run")
    expect(sync).not_to_be_checked()
    expect(page.get_by_test_id("last-import-sync")).to_have_count(0)  # never synced
    sync.check()
    _save_and_wait_for_the_list(page)
    assert api_call(stack, user["headers"], "GET", f"/tasks/{task['id']}")["sync_imports"] is True

    TargetApi.document["paths"]["/pets"]["post"] = _operation("createPet")  # new in the document
    page.goto(f"/ui/tasks/{task['id']}")
    expect(page.get_by_label("Re-sync modules imported from an OpenAPI URL before each run")).to_be_checked()
    page.get_by_role("button", name="Run now").click()  # re-syncs, then opens the run's report
    expect(page).to_have_url(re.compile(r"/ui/reports/[0-9a-f]{32}$"))
    report_id = page.url.rsplit("/", 1)[1]
    shown = api_call(stack, user["headers"], "GET", f"/tasks/{task['id']}")["last_import_sync"]
    assert shown["report_id"] == report_id
    assert shown["modules"] == [
        {"module_id": pets["id"], "added": 1, "updated": 0, "removed": 0, "kept_edited": 0}]

    page.goto(f"/ui/tasks/{task['id']}")
    last = page.get_by_test_id("last-import-sync")
    outcome = last.locator(f"li[data-module='{pets['id']}']")
    expect(outcome).to_have_text("pets: 1 added, 0 updated, 0 removed, 0 kept (edited)")
    expect(outcome.get_by_role("link", name="pets")).to_have_attribute(
        "href", re.compile(rf"/ui/modules/{pets['id']}$"))
    expect(last.get_by_role("link", name="its report")).to_have_attribute(
        "href", re.compile(rf"/ui/reports/{report_id}$"))
    console.shot("task-last-import-sync")

    page.get_by_label("Re-sync modules imported from an OpenAPI URL before each run").uncheck()
    _save_and_wait_for_the_list(page)
    assert api_call(stack, user["headers"], "GET", f"/tasks/{task['id']}")["sync_imports"] is False


def test_a_retried_run_on_the_report_page(console, stack, target_api):
    user, project, module = _world(stack, "a", target_api.url)
    for name, url in (("steady", "/status/200"), ("flaky", "/flaky")):
        api_call(stack, user["headers"], "POST", f"/modules/{module['id']}/testcases", _case(name, url))
    retries = {"attempts": 2, "backoff": "fixed", "delay_seconds": 1, "max_total_seconds": 60}
    task = api_call(stack, user["headers"], "POST", "/tasks", {
        "name": "retried", "project_id": project["id"], "crontab": "0 3 * * *", "timezone": "UTC",
        "environment": "local", "retries": retries})
    page = console.page
    sign_in_page(page, user["username"])
    page.goto(f"/ui/tasks/{task['id']}")
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/ui/reports/[0-9a-f]{32}$"))
    report_id = page.url.rsplit("/", 1)[1]

    # Attempt 1 failed (flaky's 500); attempt 2 is queued 1 s later and held at the target.
    assert TargetApi.retried.wait(30), "the second attempt never reached the target"
    timeline = page.get_by_test_id("attempts")
    expect(timeline.locator("li[data-attempt='1']")).to_contain_text(
        re.compile(r"Attempt 1 failed 2 run, 1 passed, 1 failed · [\d.]+ m?s · then waited 1 s"))
    expect(timeline.get_by_role("status")).to_contain_text("Next attempt at")
    expect(timeline).to_contain_text("Retries: up to 2, fixed from 1 s, within 60 s of the start")
    expect(page.get_by_text("This run is not finished yet")).to_be_visible()
    console.shot("report-attempt-waiting")
    TargetApi.release.set()

    expect(page.locator(".report .summary .badge")).to_have_attribute("data-status", "passed")
    report = api_call(stack, user["headers"], "GET", f"/reports/{report_id}")
    assert [(a["attempt"], a["status"]) for a in report["attempts"]] == [(1, "failed"), (2, "passed")]
    expect(timeline.locator("li")).to_have_count(2)
    expect(timeline.locator("li[data-attempt='2']")).to_contain_text(
        re.compile(r"Attempt 2 passed 1 run, 1 passed, 0 failed · [\d.]+ m?s$"))
    expect(timeline.get_by_role("status")).to_have_count(0)  # finished: no next attempt

    flaky = page.locator("details.testcase").filter(has_text="flaky")
    expect(flaky.locator("summary .attempt-note")).to_have_text("passed on attempt 2")
    expect(page.locator("details.testcase").filter(has_text="steady").locator(".attempt-note")).to_have_count(0)
    flaky.locator("summary").first.click()
    earlier = flaky.get_by_test_id("earlier-attempts")
    expect(earlier.locator(":scope > summary")).to_have_text("Earlier attempts (1)")
    earlier.locator(":scope > summary").click()
    first = earlier.locator(".earlier-attempt[data-attempt='1']")
    expect(first).to_contain_text("Attempt 1")
    expect(first.locator(".badge").first).to_have_attribute("data-status", "failed")
    expect(first.locator("td.actual")).to_have_text("500")  # the failure, still open
    console.shot("report-attempts")
