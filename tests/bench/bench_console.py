"""The console: page weight of the first load, and navigation to a rendered dashboard.

- Weight: every script and stylesheet real Chromium fetches to show the sign-in page and
  the dashboard, gzipped (level 6, what a gateway or CDN would send). Budget (DESIGN.md):
  200 KB of JS + CSS each; the editor chunk is not part of either (it loads on its page).
- Time: from navigation to a dashboard with 50 projects rendered (totals, 12 bars, the
  latest reports), against its peer in the same run: the same API calls the page makes
  (GET /auth/me, /dashboard, /projects?limit=5 and a report list per project), made
  directly with requests. The ratio is what the page adds on top of the API. Medians.
"""
from __future__ import annotations

import gzip
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR))

from tests.bench.bench_load import start_stack  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, make_account  # noqa: E402

BUDGET_BYTES = 200 * 1024
PROJECTS = 50
ROUNDS = 7


class Stack:  # what tests.browser.conftest's helpers read
    def __init__(self, url: str) -> None:
        self.url = url


def first_load_bytes(browser, base: str, path: str, cookies: list | None = None) -> dict[str, int]:
    """{url: gzipped bytes} of the scripts and stylesheets a fresh page load fetches."""
    context = browser.new_context(base_url=base)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    fetched: dict[str, int] = {}

    def record(response) -> None:
        if response.request.resource_type in ("script", "stylesheet"):
            fetched[response.url] = len(gzip.compress(response.body(), compresslevel=6))

    page.on("response", record)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    context.close()
    return fetched


def main() -> int:
    from playwright.sync_api import sync_playwright

    process, base, _ = start_stack()
    try:
        headers = make_account(Stack(base), "benchconsole")
        login = requests.post(f"{base}/auth/login", json={"account": "benchconsole", "password": PASSWORD},
                              timeout=10)
        for i in range(PROJECTS):
            requests.post(f"{base}/projects", json={"name": f"project {i:02d}"}, headers=headers,
                          timeout=10).raise_for_status()
        cookies = [{"name": name, "value": value, "url": base} for name, value in login.cookies.items()]

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            signin = first_load_bytes(browser, base, "/ui/signin")
            dashboard = first_load_bytes(browser, base, "/ui/", cookies)

            def api_only() -> float:
                started = time.perf_counter()
                with requests.Session() as http:
                    http.get(f"{base}/auth/me", headers=headers, timeout=10)
                    http.get(f"{base}/dashboard", headers=headers, timeout=10)
                    listed = http.get(f"{base}/projects?limit=5", headers=headers, timeout=10).json()
                    for project in listed["items"]:
                        http.get(f"{base}/projects/{project['id']}/reports?limit=5", headers=headers,
                                 timeout=10)
                return time.perf_counter() - started

            context = browser.new_context(base_url=base)
            context.add_cookies(cookies)
            page = context.new_page()
            page.goto("/ui/")  # warm: the browser's cache holds the immutable assets, as a returning user's
            page.wait_for_selector("g.day")

            def rendered() -> float:
                started = time.perf_counter()
                page.goto("/ui/")
                page.wait_for_function(  # a function, not a string: the page's CSP forbids eval
                    "() => document.querySelectorAll('g.day').length === 12"
                    f" && document.querySelector('.totals strong')?.textContent === '{PROJECTS}'"
                    " && !document.querySelector('.state.loading')")
                return time.perf_counter() - started

            page_times, api_times = [], []
            for _ in range(ROUNDS):
                page_times.append(rendered())
                api_times.append(api_only())
            context.close()
            browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()

    failed = False
    for name, fetched in (("sign-in page", signin), ("dashboard", dashboard)):
        total = sum(fetched.values())
        over = total > BUDGET_BYTES
        failed |= over
        files = ", ".join(f"{url.rsplit('/', 1)[-1]} {size / 1024:.1f}" for url, size in fetched.items())
        print(f"{name} first load: {total / 1024:.1f} KB JS+CSS gzip ({files}); "
              f"{'OVER' if over else 'within'} the {BUDGET_BYTES // 1024} KB budget")
    page_ms, api_ms = statistics.median(page_times) * 1000, statistics.median(api_times) * 1000
    print(f"navigation to a rendered dashboard with {PROJECTS} projects: {page_ms:.0f} ms "
          f"(median of {ROUNDS}); the same API calls alone: {api_ms:.0f} ms; ratio {page_ms / api_ms:.2f}x")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
