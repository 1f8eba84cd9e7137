"""Load on the local stack, started as `make dev` starts it (loopback only, stops by itself).

    .venv/bin/python tests/bench/bench_load.py      (what `make bench` runs)

HAT_LOAD_USERS concurrent users (default 8) each: ask a code, read it from the outbox,
register, log in, create a project, HAT_LOAD_MODULES modules (default 2) with
HAT_LOAD_CASES test cases each (default 3), run the project against a target API on
127.0.0.1 and poll the report to its end. Bounded by HAT_LOAD_SECONDS (default 150).

Afterwards every count is checked against what the generator did: the project's module
and test case counters, each report's tests_run, the items in the DynamoDB tables
(read straight from the emulator), the target's hits; no 5xx anywhere. p50/p99 per
route are printed. The local server answers one request at a time (Chalice keeps the
current request on the app object, as one Lambda container does), so throughput here is
one container's, not the deployed API's.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR))

USERS = int(os.environ.get("HAT_LOAD_USERS", "8"))
MODULES = int(os.environ.get("HAT_LOAD_MODULES", "2"))
CASES = int(os.environ.get("HAT_LOAD_CASES", "3"))
SECONDS = float(os.environ.get("HAT_LOAD_SECONDS", "150"))
PASSWORD = "a long and unusual secret"


class Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0
    lock = threading.Lock()

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        with Target.lock:
            Target.hits += 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Recorder:
    def __init__(self) -> None:
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.lock = threading.Lock()

    def call(self, http: requests.Session, method: str, url: str, route: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        response = http.request(method, url, timeout=60, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.timings[f"{method} {route}"].append(elapsed)
            self.statuses[f"{method} {route}"][response.status_code] += 1
        return response


def start_stack() -> tuple[subprocess.Popen, str, str]:
    from infra.local.emulator import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAT_", "TWILIO_"))}
    process = subprocess.Popen([sys.executable, "-m", "infra.local", "--port", str(port)], cwd=PROJECT_DIR,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    emulator_url = None
    while time.monotonic() < deadline and emulator_url is None:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"AWS emulator\s+(\S+)", line)
        emulator_url = match.group(1) if match else None
    if emulator_url is None:
        process.kill()
        raise SystemExit("the local stack did not start")
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process, f"http://127.0.0.1:{port}", emulator_url


def user_flow(i: int, base: str, target: str, rec: Recorder, deadline: float, done: list,
              errors: list) -> None:
    marker = f"{os.getpid()}{i}"
    email, username = f"load{marker}@example.com", f"load_{marker}"
    with requests.Session() as http:
        try:
            r = rec.call(http, "POST", f"{base}/auth/codes", "/auth/codes",
                         json={"channel": "email", "destination": email, "purpose": "register"})
            assert r.status_code == 202, r.text
            code = None
            while code is None and time.monotonic() < deadline:
                for item in http.get(f"{base}/_local/outbox", timeout=30).json()["items"]:
                    match = re.search(r"\b(\d{6})\b", item["body"]) if item["to"] == email else None
                    code = match.group(1) if match else code
                time.sleep(0.3)
            assert code, "no code in the outbox"
            r = rec.call(http, "POST", f"{base}/auth/register", "/auth/register", json={
                "username": username, "password": PASSWORD, "email": email, "code": code})
            assert r.status_code == 201, r.text
            r = rec.call(http, "POST", f"{base}/auth/login", "/auth/login",
                         json={"account": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            r = rec.call(http, "POST", f"{base}/projects", "/projects", headers=headers, json={
                "name": f"load {i}", "environments": {"default": {"base_url": target, "variables": {}}}})
            assert r.status_code == 201, r.text
            project = r.json()["id"]
            for m in range(MODULES):
                r = rec.call(http, "POST", f"{base}/projects/{project}/modules", "/projects/{id}/modules",
                             headers=headers, json={"name": f"m{m}"})
                assert r.status_code == 201, r.text
                module = r.json()["id"]
                for c in range(CASES):
                    document = {"config": {"name": f"c{c}"}, "teststeps": [{
                        "name": "ok", "request": {"method": "GET", "url": "/ok"},
                        "validate": [{"eq": ["status_code", 200]}]}]}
                    r = rec.call(http, "POST", f"{base}/modules/{module}/testcases",
                                 "/modules/{id}/testcases", headers=headers,
                                 json={"name": f"c{c}", "testcase": document})
                    assert r.status_code == 201, r.text
            r = rec.call(http, "POST", f"{base}/projects/{project}/runs", "/projects/{id}/runs",
                         headers=headers, json={})
            assert r.status_code == 202, r.text
            report_id = r.json()["report_id"]
            report = {}
            while time.monotonic() < deadline:
                report = rec.call(http, "GET", f"{base}/reports/{report_id}", "/reports/{id}",
                                  headers=headers).json()
                if report.get("status") in ("passed", "failed", "error"):
                    break
                time.sleep(0.5)
            got = rec.call(http, "GET", f"{base}/projects/{project}", "/projects/{id}",
                           headers=headers).json()
            rec.call(http, "GET", f"{base}/dashboard", "/dashboard", headers=headers)
            done.append({"project": got, "report": report})
        except Exception as error:  # recorded, reported, and fails the bench
            errors.append(f"user {i}: {error}")


def table_count(dynamodb, table: str) -> int:
    count, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = dynamodb.scan(**kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main() -> int:
    import boto3

    server = ThreadingHTTPServer(("127.0.0.1", 0), Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{server.server_address[1]}"
    process, base, emulator_url = start_stack()
    rec, done, errors = Recorder(), [], []
    try:
        deadline = time.monotonic() + SECONDS
        started = time.perf_counter()
        threads = [threading.Thread(target=user_flow, args=(i, base, target, rec, deadline, done, errors))
                   for i in range(USERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic() + 30))
        wall = time.perf_counter() - started
        dynamodb = boto3.session.Session().client(
            "dynamodb", endpoint_url=emulator_url, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local")
        tables = {name: table_count(dynamodb, f"hat-dev-{name}")
                  for name in ("users", "projects", "modules", "testcases", "reports")}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        server.shutdown()

    requests_made = sum(len(v) for v in rec.timings.values())
    print(f"{USERS} users x ({MODULES} modules x {CASES} test cases, 1 run) on 2 shared cores; "
          f"{requests_made} requests in {wall:.1f} s = {requests_made / wall:.1f} req/s "
          "(one local container)")
    print(f"  {'route':<34} {'n':>4} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for route in sorted(rec.timings):
        values = sorted(rec.timings[route])
        p50 = statistics.median(values)
        p99 = values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]
        print(f"  {route:<34} {len(values):>4} {p50:>8.0f} {p99:>8.0f}  {dict(rec.statuses[route])}")
    problems = list(errors)
    fives = {r: s for r, s in rec.statuses.items() if any(code >= 500 for code in s)}
    if fives:
        problems.append(f"5xx: {json.dumps(fives)}")
    if len(done) != USERS:
        problems.append(f"{len(done)} of {USERS} users finished")
    for item in done:
        project, report = item["project"], item["report"]
        if (project["module_count"], project["testcase_count"]) != (MODULES, MODULES * CASES):
            problems.append(f"project counters {project['module_count']}/{project['testcase_count']}")
        if (report.get("status"), report.get("tests_run")) != ("passed", MODULES * CASES):
            problems.append(f"report {report.get('id')}: {report.get('status')} {report.get('tests_run')}")
    expected = {"users": USERS, "projects": USERS, "modules": USERS * MODULES,
                "testcases": USERS * MODULES * CASES, "reports": USERS}
    print(f"  DynamoDB items {tables}; expected {expected}; target hits {Target.hits} "
          f"(expected {USERS * MODULES * CASES})")
    if tables != expected:
        problems.append(f"DynamoDB items {tables} != {expected}")
    if Target.hits != USERS * MODULES * CASES:
        problems.append(f"target hits {Target.hits}")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    print("  all counts exact, no 5xx" if not problems else f"  {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
