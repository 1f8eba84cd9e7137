"""Projects: CRUD, environments, names unique per owner, members, lists with cursors and ?name=."""
from __future__ import annotations

import re

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_create_get_patch_delete_a_project(alice, run_cleanup):
    created = alice.post("/projects", {"name": "Shop", "description": "the shop API", "environments": {
        "staging": {"base_url": "https://staging.shop.test", "variables": {"token": "t", "retries": 3}}}})
    assert created.status == 201
    project = created.body
    assert set(project) >= {"id", "name", "description", "owner_id", "module_count", "testcase_count",
                            "environments", "created_at", "updated_at"}
    assert project["owner_id"] == alice.user["id"] and project["role"] == "owner"
    assert (project["module_count"], project["testcase_count"]) == (0, 0)
    assert ISO.fullmatch(project["created_at"]) and ISO.fullmatch(project["updated_at"])
    secret = project.pop("webhook_secret")  # shown in the create answer only
    assert secret.startswith("whsec_") and len(secret) == 70
    assert alice.get(f"/projects/{project['id']}").body == project

    patched = alice.patch(f"/projects/{project['id']}", {"environments": {
        "prod": {"base_url": "https://shop.test"}, "local": {"base_url": "http://127.0.0.1:8080",
                                                             "variables": {"debug": True}}}})
    assert patched.status == 200
    assert patched.body["environments"] == {"prod": {"base_url": "https://shop.test", "variables": {}},
                                            "local": {"base_url": "http://127.0.0.1:8080",
                                                      "variables": {"debug": True}}}
    assert patched.body["description"] == "the shop API"  # untouched fields stay
    assert alice.get(f"/projects/{project['id']}").body["environments"] == patched.body["environments"]

    assert alice.delete(f"/projects/{project['id']}").status == 204
    assert alice.get(f"/projects/{project['id']}").status == 404
    assert alice.get("/projects").body["items"] == []
    run_cleanup()
    assert alice.delete(f"/projects/{project['id']}").status == 404


def test_bad_bodies_are_400s_naming_each_field(alice):
    answer = alice.post("/projects", {"name": "  ", "environments": {
        "bad name!": {"base_url": "ftp://x"}, "ok": {"base_url": "mailto:x", "variables": {"1x": 1}}},
        "colour": "red"})
    assert answer.status == 400
    fields = answer.error["fields"]
    assert "name" in fields and "colour" in fields
    assert any(key.startswith("environments") for key in fields)
    assert "environments.ok.base_url" in fields
    assert alice.post("/projects", {"name": "x" * 101}).error["fields"]["name"].startswith("at most")
    assert alice.post("/projects", raw="{not json").status == 400
    assert alice.patch("/projects/not-an-id", {"name": "fine"}).status == 404


def test_names_are_unique_per_owner_case_insensitively(alice, bob):
    first = alice.project("Payments")
    again = alice.post("/projects", {"name": "payments"})
    assert again.status == 409 and again.error["code"] == "name_taken"
    assert bob.post("/projects", {"name": "Payments"}).status == 201  # another owner: fine

    other = alice.project("Ledger")
    assert alice.patch(f"/projects/{other['id']}", {"name": "PAYMENTS"}).status == 409
    renamed = alice.patch(f"/projects/{first['id']}", {"name": "Billing"})
    assert renamed.status == 200 and renamed.body["name"] == "Billing"
    assert alice.patch(f"/projects/{other['id']}", {"name": "Payments"}).status == 200  # old name freed
    assert alice.patch(f"/projects/{first['id']}", {"name": "BILLING"}).body["name"] == "BILLING"  # case only


def test_owner_manages_members_who_read_and_write_everything(alice, bob, api_for):
    carol = api_for("carol")
    project = alice.project("Team")
    added = alice.post(f"/projects/{project['id']}/members", {"username": "BOBBY"})
    assert added.status == 201
    assert added.body["username"] == "bobby" and added.body["role"] == "member"
    assert alice.post(f"/projects/{project['id']}/members", {"username": "bobby"}).error["code"] == \
        "already_member"
    unknown = alice.post(f"/projects/{project['id']}/members", {"username": "nobody"})
    assert unknown.status == 404 and unknown.error["fields"] == {"username": "no such user"}

    members = alice.get(f"/projects/{project['id']}/members").body["items"]
    assert [(m["username"], m["role"]) for m in members] == [("alice", "owner"), ("bobby", "member")]

    # bob sees it, writes in it, but neither deletes it nor changes members
    assert [p["id"] for p in bob.get("/projects").body["items"]] == [project["id"]]
    assert bob.get(f"/projects/{project['id']}").body["role"] == "member"
    assert bob.patch(f"/projects/{project['id']}", {"description": "bob was here"}).status == 200
    module = bob.module(project["id"], "Bob's module")
    bob.testcase(module["id"])
    assert alice.get(f"/projects/{project['id']}").body["testcase_count"] == 1
    assert bob.post(f"/projects/{project['id']}/members", {"username": "carol"}).status == 403
    assert bob.delete(f"/projects/{project['id']}").status == 403
    assert carol.get(f"/projects/{project['id']}").status == 404

    assert alice.delete(f"/projects/{project['id']}/members", {"username": "alice"}).error["code"] == \
        "owner_cannot_leave"
    removed = alice.call("DELETE", f"/projects/{project['id']}/members?username=bobby")
    assert removed.status == 204
    assert bob.get(f"/projects/{project['id']}").status == 404
    assert bob.get(f"/modules/{module['id']}").status == 404
    assert bob.get("/projects").body["items"] == []
    assert alice.delete(f"/projects/{project['id']}/members", {"username": "bobby"}).error["code"] == \
        "not_a_member"


def test_a_renamed_project_is_found_by_its_new_name_by_every_member(alice, bob):
    project = alice.project("Alpha")
    alice.post(f"/projects/{project['id']}/members", {"username": "bobby"})
    assert bob.patch(f"/projects/{project['id']}", {"name": "Omega"}).status == 200
    for user in (alice, bob):
        assert [p["name"] for p in user.get("/projects?name=om").body["items"]] == ["Omega"]
        assert user.get("/projects?name=al").body["items"] == []


def test_lists_page_newest_first_with_cursors(alice):
    made = [alice.project(f"project {i:02}") for i in range(25)]
    seen, cursor, pages = [], None, 0
    while True:
        answer = alice.get("/projects?limit=10" + (f"&cursor={cursor}" if cursor else ""))
        assert answer.status == 200
        seen += [p["id"] for p in answer.body["items"]]
        pages += 1
        cursor = answer.body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [p["id"] for p in reversed(made)]
    assert alice.get("/projects?limit=25").body["next_cursor"] is None  # exact fit: no empty page


def test_name_filter_is_a_case_insensitive_prefix_and_pages_too(alice):
    for i in range(12):
        alice.project(f"Checkout {i:02}")
    for i in range(5):
        alice.project(f"Catalog {i}")
    first = alice.get("/projects?name=checkout&limit=5").body
    assert [p["name"] for p in first["items"]] == [f"Checkout {i:02}" for i in range(11, 6, -1)]
    names = [p["name"] for p in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        body = alice.get(f"/projects?name=checkout&limit=5&cursor={cursor}").body
        names += [p["name"] for p in body["items"]]
        cursor = body["next_cursor"]
    assert sorted(names) == [f"Checkout {i:02}" for i in range(12)]
    assert [p["name"] for p in alice.get("/projects?name=CAT").body["items"]] == \
        [f"Catalog {i}" for i in range(4, -1, -1)]
    assert alice.get("/projects?name=zzz").body == {"items": [], "next_cursor": None}


def test_bad_limits_and_cursors_are_400s(alice, bob):
    for i in range(3):
        alice.project(f"p{i}")
        bob.project(f"q{i}")
    assert alice.get("/projects?limit=0").error["fields"] == {"limit": "must be between 1 and 100"}
    assert alice.get("/projects?limit=abc").status == 400
    assert alice.get("/projects?cursor=forged.cursor").error["fields"]["cursor"]
    bobs_cursor = bob.get("/projects?limit=1").body["next_cursor"]
    answer = alice.get(f"/projects?limit=1&cursor={bobs_cursor}")  # signed, but another user's list
    assert answer.status == 400 and answer.error["fields"] == {"cursor": "not a cursor of this list"}
