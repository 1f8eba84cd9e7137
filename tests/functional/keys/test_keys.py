"""API keys (chalicelib/keys): made by a member, shown once, hashed at rest, scoped, bound to
their project, expiring, revoked at once, dead with a removed member, rate-limited, and
within the routes' DynamoDB budget."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import SignedIn
from tests.functional.runs.conftest import RunsApi, case


def as_key(api: RunsApi, key: str) -> RunsApi:
    """The same client, authenticated by the key instead of the user's session."""
    return RunsApi(api.client, SignedIn(api.user, key))


def make_key(api, project_id: str, scopes: list[str], **fields) -> dict:
    answer = api.post(f"/projects/{project_id}/keys", {"name": f"ci {'+'.join(scopes)}", "scopes": scopes,
                                                       **fields})
    assert answer.status == 201, answer.body
    return answer.body


@pytest.fixture
def shop(alice, target):
    return alice.shop(target.url, [case("ok")])


def _raw_items(aws) -> list[dict]:
    table = "hat-dev-api-keys"
    return aws("dynamodb").scan(TableName=table)["Items"]


def test_a_key_is_shown_once_and_only_its_hash_is_stored(alice, shop, aws):
    project_id = shop["project"]["id"]
    made = make_key(alice, project_id, ["read", "run"])
    key = made["key"]
    assert key.startswith("hat_") and len(key) == 4 + 43  # 32 random bytes, URL-safe base64
    assert (made["scopes"], made["last_used_at"], made["expires_at"]) == (["read", "run"], None, None)
    listed = alice.get(f"/projects/{project_id}/keys").body["items"]
    assert [k["id"] for k in listed] == [made["id"]] and "key" not in listed[0]
    stored = json.dumps(_raw_items(aws))
    assert key not in stored and key[4:] not in stored
    assert f"hash#{hashlib.sha256(key.encode()).hexdigest()}" in stored

    assert as_key(alice, key).get(f"/projects/{project_id}").status == 200
    used = alice.get(f"/projects/{project_id}/keys").body["items"][0]
    assert used["last_used_at"] is not None


def test_scopes_decide_the_routes(alice, shop, run_queue):
    project_id, module_id = shop["project"]["id"], shop["module"]["id"]
    testcase_id = shop["testcases"][0]["id"]
    reader = as_key(alice, make_key(alice, project_id, ["read"])["key"])
    runner = as_key(alice, make_key(alice, project_id, ["run"])["key"])
    writer = as_key(alice, make_key(alice, project_id, ["write"])["key"])

    report_id = runner.post(f"/projects/{project_id}/runs").body["report_id"]
    assert runner.post(f"/modules/{module_id}/runs").status == 202
    assert runner.post(f"/testcases/{testcase_id}/runs").status == 202
    run_queue()
    for path in (f"/projects/{project_id}", f"/projects/{project_id}/modules", f"/modules/{module_id}",
                 f"/modules/{module_id}/testcases", f"/testcases/{testcase_id}", f"/reports/{report_id}",
                 f"/projects/{project_id}/reports"):
        assert reader.get(path).status == 200, path
        assert writer.get(path).status == 403, path
    junit = reader.client.http.get(f"/reports/{report_id}/junit", headers=reader.who.headers)
    assert junit.status_code == 200 and b"<testsuite" in junit.body
    refused = reader.post(f"/projects/{project_id}/runs")
    assert (refused.status, refused.error["code"]) == (403, "insufficient_scope")
    assert reader.post(f"/projects/{project_id}/modules", {"name": "nope"}).status == 403

    module = writer.post(f"/projects/{project_id}/modules", {"name": "smoke"})
    assert module.status == 201, module.body
    made = writer.post(f"/modules/{module.body['id']}/testcases", {"testcase": case("smoke")})
    assert made.status == 201
    assert writer.put(f"/testcases/{made.body['id']}", {"testcase": case("smoke2")}).status == 200
    assert writer.delete(f"/testcases/{made.body['id']}").status == 204
    assert writer.patch(f"/modules/{module.body['id']}", {"description": "x"}).status == 200
    assert writer.delete(f"/modules/{module.body['id']}").status == 204
    assert writer.post(f"/projects/{project_id}/runs").status == 403


def test_account_and_people_routes_never_take_a_key(alice, shop):
    project_id = shop["project"]["id"]
    key = as_key(alice, make_key(alice, project_id, ["read", "run", "write"])["key"])
    for method, path, body in (
            ("GET", "/auth/me", None), ("POST", "/auth/logout", None),
            ("PATCH", "/auth/me", {"timezone": "UTC"}),
            ("GET", "/projects", None), ("POST", "/projects", {"name": "x"}), ("GET", "/dashboard", None),
            ("PATCH", f"/projects/{project_id}", {"description": "x"}),
            ("DELETE", f"/projects/{project_id}", None),
            ("GET", f"/projects/{project_id}/members", None),
            ("POST", f"/projects/{project_id}/members", {"username": "bobby"}),
            ("POST", f"/projects/{project_id}/webhook-secret", None),
            ("PUT", f"/projects/{project_id}/hook-rules", {"rules": None}),
            ("GET", f"/projects/{project_id}/keys", None),
            ("POST", f"/projects/{project_id}/keys", {"name": "k", "scopes": ["read"]}),
            ("GET", "/tasks", None)):
        answer = key.call(method, path, body)
        assert (answer.status, answer.error["code"]) == (401, "key_not_allowed"), (method, path)
    assert alice.get("/auth/me").status == 200  # the user's session is untouched
    assert key.get(f"/projects/{project_id}").status == 200


def test_a_key_works_on_its_own_project_only(alice, shop, target, run_queue):
    mine = shop["project"]["id"]
    other = alice.shop(target.url, [case("theirs")], name="other")  # alice belongs to both
    other_id, other_module = other["project"]["id"], other["module"]["id"]
    other_testcase = other["testcases"][0]["id"]
    other_report = alice.post(f"/projects/{other_id}/runs").body["report_id"]
    run_queue()
    key = as_key(alice, make_key(alice, mine, ["read", "run", "write"])["key"])
    for method, path, body in (
            ("GET", f"/projects/{other_id}", None), ("GET", f"/projects/{other_id}/modules", None),
            ("GET", f"/modules/{other_module}", None), ("GET", f"/modules/{other_module}/testcases", None),
            ("GET", f"/testcases/{other_testcase}", None), ("GET", f"/reports/{other_report}", None),
            ("POST", f"/projects/{other_id}/runs", None), ("POST", f"/modules/{other_module}/runs", None),
            ("POST", f"/testcases/{other_testcase}/runs", None),
            ("POST", "/testcases/debug", {"project_id": other_id, "testcase": case("d")}),
            ("POST", f"/projects/{other_id}/modules", {"name": "sneaky"}),
            ("POST", f"/modules/{other_module}/testcases", {"testcase": case("sneaky")}),
            ("PUT", f"/testcases/{other_testcase}", {"testcase": case("sneaky")}),
            ("PATCH", f"/modules/{other_module}", {"description": "sneaky"}),
            ("DELETE", f"/testcases/{other_testcase}", None), ("DELETE", f"/modules/{other_module}", None)):
        assert key.call(method, path, body).status == 404, (method, path)
    assert alice.get(f"/modules/{other_module}/testcases").body["items"][0]["name"] == "theirs"  # untouched


def test_expired_and_revoked_keys_stop_at_once(alice, shop, aws):
    project_id = shop["project"]["id"]
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expiring = make_key(alice, project_id, ["read"], expires_at=soon)
    assert expiring["expires_at"] is not None
    key = as_key(alice, expiring["key"])
    assert key.get(f"/projects/{project_id}").status == 200
    # Its hour passes: move the stored expiry (what the clock would do), TTL not yet applied.
    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    for item in _raw_items(aws):
        if item["id"]["S"] == expiring["id"]:
            aws("dynamodb").update_item(TableName="hat-dev-api-keys", Key={"key": item["key"]},
                                        UpdateExpression="SET expires_ttl = :t",
                                        ExpressionAttributeValues={":t": {"N": str(past)}})
    answer = key.get(f"/projects/{project_id}")
    assert (answer.status, answer.error["code"]) == (401, "bad_key")

    revoked = make_key(alice, project_id, ["read"])
    key = as_key(alice, revoked["key"])
    assert key.get(f"/projects/{project_id}").status == 200
    assert alice.delete(f"/projects/{project_id}/keys/{revoked['id']}").status == 204
    assert key.get(f"/projects/{project_id}").status == 401
    assert alice.delete(f"/projects/{project_id}/keys/{revoked['id']}").status == 404
    assert revoked["id"] not in [k["id"] for k in alice.get(f"/projects/{project_id}/keys").body["items"]]
    assert as_key(alice, "hat_" + "x" * 43).get(f"/projects/{project_id}").status == 401
    assert as_key(alice, "hat_short").get(f"/projects/{project_id}").status == 401


def test_bad_key_requests_name_the_field(alice, shop, bob):
    project_id = shop["project"]["id"]
    read = {"name": "k", "scopes": ["read"]}
    for body, field in (({"scopes": ["read"]}, "name"), ({"name": "k", "scopes": []}, "scopes"),
                        ({"name": "k", "scopes": ["admin"]}, "scopes[0]"),
                        ({"name": "k", "scopes": ["read", "read"]}, "scopes"),
                        ({**read, "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),  # past
                        ({**read, "expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),  # too far
                        ({**read, "expires_at": "2030-01-01T00:00:00"}, "expires_at")):  # no zone
        answer = alice.post(f"/projects/{project_id}/keys", body)
        assert answer.status == 400 and field in answer.error["fields"], (body, answer.body)
    assert bob.post(f"/projects/{project_id}/keys", {"name": "k", "scopes": ["read"]}).status == 404
    assert bob.get(f"/projects/{project_id}/keys").status == 404
    assert alice.delete(f"/projects/{project_id}/keys/not-an-id").status == 404


def test_keys_of_a_removed_member_stop_working(alice, bob, shop):
    project_id = shop["project"]["id"]
    alice.post(f"/projects/{project_id}/members", {"username": "bobby"})
    bobs = make_key(bob, project_id, ["read", "write"])
    key = as_key(bob, bobs["key"])
    assert key.get(f"/projects/{project_id}").status == 200
    assert alice.delete(f"/projects/{project_id}/members?username=bobby").status == 204
    answer = key.get(f"/projects/{project_id}")
    assert (answer.status, answer.error["code"]) == (401, "key_owner_removed")
    assert key.get(f"/modules/{shop['module']['id']}").status == 401
    assert key.post(f"/projects/{project_id}/modules", {"name": "late"}).status == 404  # writes: refused too
    listed = {k["id"]: k for k in alice.get(f"/projects/{project_id}/keys").body["items"]}
    assert listed[bobs["id"]]["owner_is_member"] is False


def test_a_key_is_rate_limited(alice, shop, monkeypatch):
    from chalicelib.core.settings import reset_settings

    project_id = shop["project"]["id"]
    monkeypatch.setenv("HAT_API_KEY_RATE_LIMIT", "3")
    monkeypatch.setenv("HAT_API_KEY_RATE_WINDOW_SECONDS", "3600")
    reset_settings()
    key = as_key(alice, make_key(alice, project_id, ["read"])["key"])
    other = as_key(alice, make_key(alice, project_id, ["read"])["key"])
    assert [key.get(f"/projects/{project_id}").status for _ in range(3)] == [200, 200, 200]
    limited = key.get(f"/projects/{project_id}")
    assert (limited.status, limited.error["code"]) == (429, "key_rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert other.get(f"/projects/{project_id}").status == 200  # per key
    assert alice.get(f"/projects/{project_id}").status == 200  # sessions are not counted


def test_old_window_counters_are_cleaned_up(alice, shop, aws):
    project_id = shop["project"]["id"]
    made = make_key(alice, project_id, ["read"])
    key_hash = "hash#" + hashlib.sha256(made["key"].encode()).hexdigest()
    stale = {f"#w{i}": f"w{i}" for i in range(10)}
    aws("dynamodb").update_item(TableName="hat-dev-api-keys", Key={"key": {"S": key_hash}},
                                UpdateExpression="SET " + ", ".join(f"{n} = :one" for n in stale),
                                ExpressionAttributeNames=stale,
                                ExpressionAttributeValues={":one": {"N": "1"}})
    assert as_key(alice, made["key"]).get(f"/projects/{project_id}").status == 200
    item = aws("dynamodb").get_item(TableName="hat-dev-api-keys", Key={"key": {"S": key_hash}})["Item"]
    counters = [name for name in item if name.startswith("w") and name[1:].isdigit()]
    assert len(counters) == 1  # the current window's only


def test_current_key_says_which_key_and_project(alice, shop):
    project_id = shop["project"]["id"]
    made = make_key(alice, project_id, ["run"])
    answer = as_key(alice, made["key"]).get("/keys/current")
    assert answer.status == 200
    assert answer.body["project"] == {"id": project_id, "name": shop["project"]["name"]}
    assert (answer.body["id"], answer.body["scopes"]) == (made["id"], ["run"])
    assert alice.get("/keys/current").status == 404  # a session is no key


def test_ddb_calls_with_a_key_stay_those_of_a_session(alice, shop, ddb_calls):
    project_id, module_id = shop["project"]["id"], shop["module"]["id"]
    made = make_key(alice, project_id, ["read", "run"])
    key = as_key(alice, made["key"])
    spent = {}

    def measure(label, call, status):
        ddb_calls.clear()
        answer = call()
        assert answer.status == status, (label, answer.body)
        spent[label] = list(ddb_calls)

    measure("GET /projects/{id} (session)", lambda: alice.get(f"/projects/{project_id}"), 200)
    measure("GET /projects/{id} (key)", lambda: key.get(f"/projects/{project_id}"), 200)
    measure("GET /modules/{id}/testcases (key)", lambda: key.get(f"/modules/{module_id}/testcases"), 200)
    measure("POST /modules/{id}/runs (key)", lambda: key.post(f"/modules/{module_id}/runs"), 202)
    measure("GET /keys/current", lambda: key.get("/keys/current"), 200)
    measure("unknown key", lambda: as_key(alice, "hat_" + "A" * 43).get(f"/projects/{project_id}"), 401)
    measure("account route with a key", lambda: key.get("/auth/me"), 401)
    measure("another project's route", lambda: key.get(f"/projects/{'e' * 32}"), 404)
    measure("POST /projects/{id}/keys", lambda: alice.post(f"/projects/{project_id}/keys",
                                                           {"name": "k", "scopes": ["read"]}), 201)
    measure("GET /projects/{id}/keys", lambda: alice.get(f"/projects/{project_id}/keys"), 200)
    measure("DELETE /projects/{id}/keys/{key_id}",
            lambda: alice.delete(f"/projects/{project_id}/keys/{made['id']}"), 204)
    print("\nDynamoDB calls:", json.dumps(spent, indent=1))
    assert spent["GET /projects/{id} (key)"] == ["UpdateItem", "GetItem"]
    assert len(spent["GET /projects/{id} (key)"]) == len(spent["GET /projects/{id} (session)"])
    assert spent["unknown key"] == ["UpdateItem"]
    assert spent["account route with a key"] == []
    assert spent["another project's route"] == ["UpdateItem"]
    assert all(len(calls) <= 4 and "Scan" not in calls for calls in spent.values()), spent


def test_disabling_an_account_revokes_its_keys(alice, shop):
    from chalicelib.accounts.service import disable_user

    project_id = shop["project"]["id"]
    keys = [as_key(alice, make_key(alice, project_id, ["read"])["key"]) for _ in range(2)]
    assert all(key.get(f"/projects/{project_id}").status == 200 for key in keys)
    disable_user(alice.user["id"])
    assert [key.get(f"/projects/{project_id}").status for key in keys] == [401, 401]
