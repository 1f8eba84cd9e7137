"""Hostile testcases (issue 14, items 2 and 3): the worst a testcase can make the runner do,
in time and in peak memory, against a benign testcase measured in the same way.

Each case runs in a fresh interpreter (so its peak RSS is its own) through the real engine
and the real aiohttp transport, against a local server, with the run deadline the debug
route uses. Budgets: every case ends within the deadline plus BUDGET_OVERSHOOT_SECONDS
(CPU-bound work included), and peaks at most BUDGET_EXTRA_MB above the benign case.
Exit 1 when a case misses either.
"""
from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 10.0
BUDGET_OVERSHOOT_SECONDS = 5.0
BUDGET_EXTRA_MB = 300
BIG_TEXT_CHARS = 1_000_000


def _doubling_lists(levels: int) -> dict[str, Any]:
    variables: dict[str, Any] = {"v0": ["x" * 50]}
    for level in range(1, levels + 1):
        variables[f"v{level}"] = [f"$v{level - 1}", f"$v{level - 1}"]
    return variables


def _doubling_text(levels: int) -> dict[str, Any]:
    variables: dict[str, Any] = {"s0": "x" * 1000}
    for level in range(1, levels + 1):
        variables[f"s{level}"] = f"$s{level - 1}$s{level - 1}"
    return variables


def _case(name: str, url: str, *, variables: dict | None = None, request: dict | None = None,
          validate: list | None = None, extract: dict | None = None, steps: int = 1) -> dict:
    step = {"name": name, "request": {"method": "GET", "url": url, **(request or {})},
            "validate": validate or [], "extract": extract or {}}
    return {"config": {"name": name, "variables": variables or {}},
            "teststeps": [{**step, "name": f"{name} {i}"} for i in range(steps)]}


def _echoes(steps: int) -> dict:
    """Read a 1 MB body once, then send it back in every later step."""
    document = _case("echo", "/ok", request={"method": "POST", "json": {"again": "$b"}},
                     steps=steps)
    document["teststeps"].insert(0, _case("read", "/big", extract={"b": "body.text"})[
        "teststeps"][0])
    return document


def cases() -> dict[str, list[dict]]:
    pipes = "body" + " | [@,@]" * 40
    return {
        "benign": [_case("benign", "/ok", validate=[{"eq": ["status_code", 200]}])],
        # item 2: CPU on the event loop
        "backtracking regex x200 on 1 MB": [_case(
            "regex", "/big", validate=[{"regex_match": ["body.text", "(a+)+b"]}] * 200)],
        "round(5, -20000000)": [_case(
            "round", "/ok", request={"headers": {"X-R": "${round(5, -20000000)}"}})],
        "JMESPath doubling pipes x50": [_case(
            "paths", "/ok", extract={f"x{i}": pipes for i in range(50)})],
        "500 steps x 100 passing 1 MB checks": [_case(
            "checks", "/big", validate=[{"startswith": ["body.text", "a"]}] * 100, steps=500)],
        # item 3: memory
        "lists doubling 27 levels (1.75 GB)": [_case(
            "lists", "/ok", variables=_doubling_lists(27),
            request={"method": "POST", "json": "$v27"})],
        "text doubling 30 levels": [_case(
            "text", "/ok", variables=_doubling_text(30), request={"headers": {"X": "$s30"}})],
        "1 MB body echoed back by 400 steps": [_echoes(400)],
    }


def _serve() -> str:
    from aiohttp import web

    big = json.dumps({"text": "a" * BIG_TEXT_CHARS}).encode()
    ready = threading.Event()
    where: list[str] = []

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True})

    async def big_body(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="application/json")

    async def main() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/ok", ok)
        app.router.add_get("/big", big_body)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        where.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}")
        ready.set()
        await asyncio.Event().wait()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait(10)
    return where[0]


def child(name: str, base_url: str) -> None:
    """One case in this fresh interpreter: prints seconds, peak RSS and the outcome."""
    sys.path.insert(0, str(PROJECT_DIR))
    from chalicelib.runner.engine import run_testcases_sync

    documents = cases()[name]
    started = time.perf_counter()
    report = run_testcases_sync(documents, environment={"base_url": base_url},
                                outbound_allow=["127.0.0.0/8"], deadline_seconds=DEADLINE_SECONDS)
    seconds = time.perf_counter() - started
    stored = len(json.dumps(report))  # what the worker would write to S3
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first = report["testcases"][0]
    error = first.get("error") or next(
        (s.get("error") for s in first["steps"] if s.get("error")), "")
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "report_mb": stored / 2**20,
                      "outcome": (error or "ok")[:70]}))


def main() -> int:
    base_url = _serve()
    results = {}
    for name in cases():
        done = subprocess.run([sys.executable, __file__, "--child", name, base_url],
                              capture_output=True, text=True, timeout=600, cwd=PROJECT_DIR)
        if done.returncode:
            print(f"{name}: failed\n{done.stderr[-2000:]}")
            return 1
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    baseline = results["benign"]["peak_mb"]
    missed = []
    print(f"deadline {DEADLINE_SECONDS:g} s; budgets: +{BUDGET_OVERSHOOT_SECONDS:g} s, "
          f"+{BUDGET_EXTRA_MB} MB peak RSS over the benign case ({baseline:.0f} MB)")
    print(f"{'case':40} {'seconds':>8} {'peak MB':>8} {'report MB':>9}  outcome")
    for name, result in results.items():
        over = (result["seconds"] > DEADLINE_SECONDS + BUDGET_OVERSHOOT_SECONDS
                or result["peak_mb"] > baseline + BUDGET_EXTRA_MB)
        if over:
            missed.append(name)
        print(f"{name:40} {result['seconds']:8.2f} {result['peak_mb']:8.0f} "
              f"{result['report_mb']:9.2f}  {result['outcome']}{'  OVER' if over else ''}")
    print("within budget" if not missed else f"OVER budget: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
