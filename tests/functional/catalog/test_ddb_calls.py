"""Every catalog route costs at most 4 DynamoDB calls (the auth GetItem included); no Scan."""
from __future__ import annotations

import json

from tests.functional.catalog.conftest import sample_doc

BUDGET = 4


def test_no_route_issues_more_than_4_calls_nor_a_scan(alice, bob, api_for, ddb_calls, request):
    carol = api_for("carol")
    project = alice.project("budget")
    module = alice.module(project["id"], "orders")
    testcase = alice.testcase(module["id"], "first")
    for i in range(3):
        alice.testcase(module["id"], f"more {i}")
    alice.post(f"/projects/{project['id']}/members", {"username": "carol"})
    spent: list[tuple[str, int, list[str]]] = []

    def measure(label: str, expected: int, call):
        ddb_calls.clear()
        answer = call()
        assert answer.status == expected, (label, answer.body)
        spent.append((label, len(ddb_calls), list(ddb_calls)))

    p, m, t = project["id"], module["id"], testcase["id"]
    yaml_text = "config:\n  name: from yaml\nteststeps:\n  - name: s\n    request: {method: GET, url: /}\n"
    measure("POST /projects", 201, lambda: alice.post("/projects", {"name": "other"}))
    measure("GET /projects", 200, lambda: alice.get("/projects?limit=1"))
    measure("GET /projects?name=", 200, lambda: alice.get("/projects?name=bud"))
    measure("GET /projects/{id}", 200, lambda: alice.get(f"/projects/{p}"))
    measure("PATCH /projects/{id}", 200, lambda: alice.patch(f"/projects/{p}", {"description": "x"}))
    measure("PATCH /projects/{id} (rename)", 200, lambda: alice.patch(f"/projects/{p}", {"name": "budget 2"}))
    measure("GET /projects/{id}/members", 200, lambda: alice.get(f"/projects/{p}/members"))
    measure("POST /projects/{id}/members", 201,
            lambda: alice.post(f"/projects/{p}/members", {"username": "bobby"}))
    measure("DELETE /projects/{id}/members", 204,
            lambda: alice.delete(f"/projects/{p}/members", {"username": "carol"}))
    measure("GET /projects/{id}/modules", 200, lambda: alice.get(f"/projects/{p}/modules?limit=1"))
    measure("POST /projects/{id}/modules", 201,
            lambda: bob.post(f"/projects/{p}/modules", {"name": "payments"}))
    measure("GET /modules/{id}", 200, lambda: bob.get(f"/modules/{m}"))
    measure("PATCH /modules/{id}", 200, lambda: bob.patch(f"/modules/{m}", {"name": "orders 2"}))
    measure("GET /modules/{id}/testcases", 200, lambda: bob.get(f"/modules/{m}/testcases?limit=2"))
    measure("GET /modules/{id}/testcases?name=", 200, lambda: bob.get(f"/modules/{m}/testcases?name=more"))
    measure("POST /modules/{id}/testcases", 201,
            lambda: bob.post(f"/modules/{m}/testcases", {"testcase": sample_doc("second")}))
    measure("POST /modules/{id}/testcases/import", 201,
            lambda: bob.post(f"/modules/{m}/testcases/import", raw=yaml_text,
                             content_type="application/yaml"))
    measure("GET /testcases/{id}", 200, lambda: bob.get(f"/testcases/{t}"))
    measure("PUT /testcases/{id}", 200,
            lambda: bob.put(f"/testcases/{t}", {"name": "renamed", "testcase": sample_doc("x", 2)}))
    measure("DELETE /testcases/{id}", 204, lambda: bob.delete(f"/testcases/{t}"))
    measure("DELETE /modules/{id}", 204, lambda: bob.delete(f"/modules/{m}"))
    measure("DELETE /projects/{id}", 204, lambda: alice.delete(f"/projects/{p}"))
    # refusals cost no more than successes
    measure("GET /projects/{id} (stranger)", 404, lambda: carol.get(f"/projects/{p}"))
    measure("POST /modules/{id}/testcases (gone)", 404,
            lambda: carol.post(f"/modules/{m}/testcases", {"testcase": sample_doc("y")}))

    report = "\n".join(f"{label:42} {count}  {' '.join(calls)}" for label, count, calls in spent)
    print("\nDynamoDB calls per route (auth GetItem included):\n" + report)
    request.node.user_properties.append(("ddb_calls", json.dumps(spent)))
    assert all("Scan" not in calls for _, _, calls in spent), report
    assert all(count <= BUDGET for _, count, _ in spent), report
    assert all(calls[0] == "GetItem" for _, _, calls in spent), "the auth lookup comes first"
