"""Tenant isolation: another user gets 404 on every route of someone else's ids, and learns nothing."""
from __future__ import annotations

import json

from tests.functional.catalog.conftest import sample_doc


def routes_for(p: str, m: str, t: str) -> list[tuple[str, str, object]]:
    return [
        ("GET", f"/projects/{p}", None),
        ("PATCH", f"/projects/{p}", {"description": "mine now"}),
        ("PATCH", f"/projects/{p}", {"name": "stolen"}),
        ("DELETE", f"/projects/{p}", None),
        ("GET", f"/projects/{p}/members", None),
        ("POST", f"/projects/{p}/members", {"username": "bobby"}),
        ("DELETE", f"/projects/{p}/members", {"username": "alice"}),
        ("GET", f"/projects/{p}/modules", None),
        ("POST", f"/projects/{p}/modules", {"name": "intruder"}),
        ("GET", f"/modules/{m}", None),
        ("PATCH", f"/modules/{m}", {"name": "stolen"}),
        ("DELETE", f"/modules/{m}", None),
        ("GET", f"/modules/{m}/testcases", None),
        ("POST", f"/modules/{m}/testcases", {"testcase": sample_doc("intruder")}),
        ("POST", f"/modules/{m}/testcases/import", sample_doc("intruder 2")),
        ("GET", f"/testcases/{t}", None),
        ("PUT", f"/testcases/{t}", {"testcase": sample_doc("overwritten")}),
        ("DELETE", f"/testcases/{t}", None),
    ]


def test_every_route_answers_404_for_another_tenants_ids(alice, bob):
    project = alice.project("Secret project", description="top secret")
    module = alice.module(project["id"], "Secret module")
    case = alice.testcase(module["id"], "Secret case")
    before = (alice.get(f"/projects/{project['id']}").body, alice.get(f"/modules/{module['id']}").body,
              alice.get(f"/testcases/{case['id']}").body)
    for method, path, body in routes_for(project["id"], module["id"], case["id"]):
        answer = bob.call(method, path, body)
        assert answer.status == 404, (method, path, answer.status, answer.body)
        text = json.dumps(answer.body).lower()
        assert "secret" not in text and alice.user["id"] not in text, (method, path, answer.body)
    after = (alice.get(f"/projects/{project['id']}").body, alice.get(f"/modules/{module['id']}").body,
             alice.get(f"/testcases/{case['id']}").body)
    assert after == before
    assert bob.get("/projects").body["items"] == []


def test_unknown_and_malformed_ids_are_404s_too(alice):
    for method, path, body in routes_for("0" * 32, "f" * 32, "a" * 32) + \
            routes_for("not-an-id", "..%2Fetc", "x" * 3000):
        answer = alice.call(method, path, body)
        assert answer.status == 404, (method, path, answer.status, answer.body)


def test_ids_of_one_kind_do_not_open_another(alice, bob):
    """A project id used as a module id (and so on) finds nothing, even for its owner."""
    project = alice.project("Shop")
    module = alice.module(project["id"])
    case = alice.testcase(module["id"])
    assert alice.get(f"/modules/{project['id']}").status == 404
    assert alice.get(f"/testcases/{module['id']}").status == 404
    assert alice.get(f"/projects/{case['id']}").status == 404


def test_a_removed_member_loses_every_route_at_once(alice, bob):
    project = alice.project("Shared")
    module = alice.module(project["id"])
    case = alice.testcase(module["id"])
    alice.post(f"/projects/{project['id']}/members", {"username": "bobby"})
    assert bob.get(f"/testcases/{case['id']}").status == 200
    alice.delete(f"/projects/{project['id']}/members", {"username": "bobby"})
    for method, path, body in routes_for(project["id"], module["id"], case["id"]):
        assert bob.call(method, path, body).status == 404, (method, path)
    assert alice.get(f"/projects/{project['id']}").body["testcase_count"] == 1
