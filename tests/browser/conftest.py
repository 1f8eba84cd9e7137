"""The console in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright),
against the local stack exactly as `make dev` runs it (tests/e2e's `stack` fixture).

Every page a test opens is watched: a console error, an uncaught exception or a request
to any origin other than the stack's fails the test. Screenshots go to SCREENSHOTS_DIR
(printed at the end of the run).
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import PROJECT_DIR, RunningStack, stack  # noqa: F401  (the fixture, reused)
from tests.e2e.test_runs import target  # noqa: F401  (a local HTTP API for environments)

CHROMIUM = "/usr/bin/chromium"
# Without these Chromium stalls on a closed network (updates, sync, first-run probes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS_DIR = Path(os.environ.get("HAT_SCREENSHOTS", PROJECT_DIR / "build" / "screenshots"))
PASSWORD = "correct horse battery"
CHROMIUM_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d ")


def pytest_terminal_summary(terminalreporter) -> None:
    if SCREENSHOTS_DIR.is_dir() and any(SCREENSHOTS_DIR.iterdir()):
        terminalreporter.write_line(f"console screenshots: {SCREENSHOTS_DIR}")


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Watched:
    """A page of the console plus what it did wrong: console errors, page errors, foreign requests."""

    def __init__(self, page, origin: str) -> None:
        self.page, self.origin = page, origin
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._request)
        page.on("response", lambda response: response.status >= 500 and self.errors.append(
            f"{response.status} from {response.url}"))

    def _console(self, message) -> None:
        # Chromium reports every 4xx answer as "Failed to load resource"; the page handles
        # those (a field error shown next to its field), so only they are let through.
        if message.type == "error" and not CHROMIUM_4XX.match(message.text):
            self.errors.append(message.text)

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(request.url)

    def shot(self, name: str) -> Path:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS_DIR / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_clean(self) -> None:
        assert not self.errors, f"console errors: {self.errors}"
        assert not self.foreign, f"requests to another origin: {self.foreign}"


@pytest.fixture
def console(browser, stack) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 860},
                                  locale="en-US", timezone_id="UTC")
    context.set_default_timeout(15_000)
    watched = Watched(context.new_page(), stack.url)
    yield watched
    context.close()
    watched.check_clean()


def outbox_code(stack: RunningStack, destination: str, timeout: float = 20) -> str:  # noqa: F811
    """The newest 6-digit code the local sinks received for `destination`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = requests.get(f"{stack.url}/_local/outbox", timeout=5).json()["items"]
        for item in reversed(items):
            if item["to"] == destination:
                found = re.search(r"\b(\d{6})\b", item["body"])
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no code for {destination} in the outbox")


def api_session(stack: RunningStack, username: str) -> dict:  # noqa: F811
    """Bearer headers for a user the test registered through the page."""
    token = requests.post(f"{stack.url}/auth/login", json={"account": username, "password": PASSWORD},
                          timeout=10).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def make_account(stack: RunningStack, username: str, mobile: str | None = None) -> dict:  # noqa: F811
    """An account made through the API (code from the outbox); returns its bearer headers."""
    email = f"{username}@example.com"
    requests.post(f"{stack.url}/auth/codes", json={"channel": "email", "destination": email,
                                                   "purpose": "register"}, timeout=10).raise_for_status()
    body = {"username": username, "password": PASSWORD, "email": email, "code": outbox_code(stack, email)}
    requests.post(f"{stack.url}/auth/register", json={**body, **({"mobile": mobile} if mobile else {})},
                  timeout=10).raise_for_status()
    return api_session(stack, username)


def sign_in_page(page, username: str, *, remember: bool = False) -> None:
    from playwright.sync_api import expect

    page.goto("/ui/signin")
    page.get_by_label("Username, email or mobile", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    if remember:
        page.get_by_label("Remember me for 14 days", exact=True).check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def api_call(stack: RunningStack, headers: dict, method: str, path: str, body: object = None) -> dict:  # noqa: F811
    """One API call as a user, for a test's setup and its checks; a 4xx/5xx raises."""
    response = requests.request(method, f"{stack.url}{path}", json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else {}


def finished_report(stack: RunningStack, headers: dict, report_id: str, timeout: float = 30) -> dict:  # noqa: F811
    """The report once it is no longer queued or running."""
    deadline = time.monotonic() + timeout
    while True:
        report = api_call(stack, headers, "GET", f"/reports/{report_id}")
        if report["status"] not in ("queued", "running"):
            return report
        assert time.monotonic() < deadline, f"report {report_id} still {report['status']}"
        time.sleep(0.2)
