"""Every runs route costs at most 4 DynamoDB calls (the auth GetItem included); no Scan."""
from __future__ import annotations

import json
import time

from chalicelib.core.signing import signature
from tests.functional.ddb_budget import CallBudget
from tests.functional.runs.conftest import case

BUDGET = 4


def test_no_runs_route_issues_more_than_4_calls_nor_a_scan(alice, target, run_queue, ddb_calls, request):
    shop = alice.shop(target.url, [case("a"), case("b")])
    p, m, t = shop["project"]["id"], shop["module"]["id"], shop["testcases"][0]["id"]
    report_id = alice.post(f"/projects/{p}/runs").body["report_id"]
    run_queue()
    secret = alice.post(f"/projects/{p}/webhook-secret").body["secret"]
    budget = CallBudget(ddb_calls, BUDGET)
    measure = budget.measure

    def hook():
        raw = json.dumps({"module_ids": [m]}).encode()
        stamp = int(time.time())
        return alice.client.http.post(f"/hooks/projects/{p}/runs", body=raw, headers={
            "Content-Type": "application/json", "X-Hat-Timestamp": str(stamp),
            "X-Hat-Signature": signature(secret, stamp, raw)})

    measure("POST /projects/{id}/runs", 202,
            lambda: alice.post(f"/projects/{p}/runs", {"environment": "default"}))
    measure("POST /modules/{id}/runs", 202, lambda: alice.post(f"/modules/{m}/runs"))
    measure("POST /testcases/{id}/runs", 202, lambda: alice.post(f"/testcases/{t}/runs"))
    measure("POST /testcases/debug", 200,
            lambda: alice.post("/testcases/debug", {"project_id": p, "testcase": case("d")}))
    measure("GET /projects/{id}/reports", 200, lambda: alice.get(f"/projects/{p}/reports?limit=2"))
    measure("GET /reports/{id}", 200, lambda: alice.get(f"/reports/{report_id}"))
    measure("GET /reports/{id}/junit", 200,
            lambda: alice.client.http.get(f"/reports/{report_id}/junit", headers=alice.who.headers))
    measure("GET /dashboard", 200, lambda: alice.get("/dashboard"))
    measure("POST /projects/{id}/webhook-secret", 201, lambda: alice.post(f"/projects/{p}/webhook-secret"))
    secret = alice.post(f"/projects/{p}/webhook-secret").body["secret"]
    measure("POST /hooks/projects/{id}/runs", 202, hook)
    measure("GET /reports/{id} (stranger id)", 404, lambda: alice.get(f"/reports/{'0' * 32}"))

    budget.check(request, "DynamoDB calls per runs route (auth GetItem included)")
