"""The main flows through the Chalice test client: every answer is a status its route declares in
/openapi.json, with the declared media type, and its JSON body matches the declared schema. A
service that changes the shape of what it answers fails here; so does a route whose declared
success answer no flow below produces (see EXEMPT)."""
from __future__ import annotations

import json
import re
import time

import pytest
from jsonschema import Draft202012Validator

from tests.functional.catalog.conftest import sample_doc
from tests.functional.importers.shop_server import ShopHandler, ShopServer
from tests.functional.runs import conftest as runs
from tests.functional.runs import hook_payloads as hooks
from tests.functional.runs.conftest import case

target, run_queue = runs.target, runs.run_queue  # the runs suite's fixtures, used here too

# Declared success answers no flow here produces, and where they are tested instead.
EXEMPT = {("POST", "/hooks/twilio/status", 204): "needs a Twilio-signed form: accounts/test_notify.py"}
YAML_CASE = ("config:\n  name: imported\n"
             "teststeps:\n  - name: ok\n    request: {method: GET, url: /status/200}\n")


class Contract:
    """Checks each answer against the document and remembers which declared answers it saw."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()
        # Literal segments beat parameters (/testcases/debug before /testcases/{testcase_id}).
        self.routes = sorted(spec["paths"], key=lambda route: route.count("{"))

    def route_of(self, path: str) -> str:
        for route in self.routes:
            if re.fullmatch(re.sub(r"{\w+}", "[^/]+", route), path):
                return route
        raise AssertionError(f"{path} is no route of the document")

    def declared(self) -> set[tuple[str, str, int]]:
        return {(method.upper(), route, int(status)) for route, operations in self.spec["paths"].items()
                for method, operation in operations.items()
                for status in operation["responses"] if status.startswith("2")}

    def check(self, method: str, path: str, response) -> object:
        route = self.route_of(path.partition("?")[0])
        responses = self.spec["paths"][route][method.lower()]["responses"]
        status = str(response.status_code)
        body = response.body.decode() if isinstance(response.body, bytes) else response.body
        assert status.startswith("2") and status in responses, \
            f"{method} {route} answered {status} ({body[:300]}); it declares {sorted(responses)}"
        self.seen.add((method, route, response.status_code))
        content = responses[status].get("content")
        if content is None:
            assert not body, f"{method} {route} {status} declares no body but sent {body[:100]}"
            return None
        (media_type, declared), = content.items()
        assert response.headers.get("Content-Type", "application/json").startswith(media_type)
        if media_type != "application/json":
            return body
        value = json.loads(body)
        schema = {**declared["schema"], "components": self.spec["components"]}
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
                  for error in validator.iter_errors(value)]
        assert not errors, f"{method} {route} {status} does not match its schema:\n" + "\n".join(errors[:10])
        return value


class Client:
    """A JSON client as one user (or none), every answer checked by the contract."""

    def __init__(self, http, contract: Contract, token: str | None = None) -> None:
        self.http, self.contract, self.token = http, contract, token

    def __call__(self, method: str, path: str, body: object = None, *, raw: str | bytes | None = None,
                 content_type: str = "application/json", headers: dict | None = None):
        sent = {"Content-Type": content_type, **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.http, method.lower())(path, headers=sent, body=payload)
        return self.contract.check(method, path, response)


@pytest.fixture
def contract(client) -> Contract:
    return Contract(json.loads(client.http.get("/openapi.json").body))


def test_the_main_flows_answer_as_the_document_declares(client, make_user, contract, target, run_queue,
                                                         monkeypatch):
    from chalicelib.accounts.codes import store_code
    from chalicelib.core.clock import utcnow
    from chalicelib.core.signing import signature

    anyone = Client(client.http, contract)
    anyone("GET", "/health")
    anyone("GET", "/openapi.json")
    assert "201 ProjectCreated" in anyone("GET", "/docs")

    # The console (built by make): its page at every depth (its files are outside the document).
    page = anyone("GET", "/ui")
    for path in ("/ui/projects", "/ui/projects/p1", "/ui/projects/p1/settings", "/ui/a/b/c/d"):
        assert anyone("GET", path) == page

    # Accounts: ask a code, register with one, sign in, profile, reset, sign out.
    anyone("POST", "/auth/codes", {"channel": "email", "destination": "carol@example.com",
                                   "purpose": "register"})
    monkeypatch.setenv("HAT_BCRYPT_ROUNDS", "4")
    make_user("bobby")  # also makes bcrypt cheap
    store_code("register#carol@example.com", "email", "carol@example.com", "register", "123456", utcnow())
    carol = anyone("POST", "/auth/register", {"username": "carol", "password": "correct horse battery",
                                              "email": "carol@example.com", "code": "123456"})
    session = anyone("POST", "/auth/login", {"account": "carol", "password": "correct horse battery",
                                             "remember": True})
    assert session["user"]["id"] == carol["id"]
    me = Client(client.http, contract, session["token"])
    me("GET", "/auth/me")
    me("PATCH", "/auth/me", {"timezone": "Asia/Shanghai"})
    store_code(f"reset#{carol['id']}", "email", "carol@example.com", "reset", "654321", utcnow())
    anyone("POST", "/auth/password/reset", {"account": "carol", "code": "654321",
                                            "new_password": "another horse battery"})
    again = Client(client.http, contract, anyone("POST", "/auth/login", {
        "account": "carol@example.com", "password": "another horse battery", "remember": False})["token"])
    again("POST", "/auth/logout")

    # Catalog: a project with a member, a module, test cases made, imported, replaced, listed.
    alice = Client(client.http, contract, make_user("alice").token)
    project = alice("POST", "/projects", {
        "name": "shop", "description": "the shop", "callback_url": "https://ci.example.com/done",
        "environments": {"default": {"base_url": target.url, "variables": {"user": "alice"}}}})
    pid = project["id"]
    alice("GET", "/projects")
    alice("GET", f"/projects/{pid}")
    alice("PATCH", f"/projects/{pid}", {"notify": {"emails": ["ops@example.com"], "when": "failure"}})
    alice("GET", f"/projects/{pid}/recipients")
    ci_hook = {"id": "ci", "type": "webhook", "target": f"{target.url}/hook"}
    alice("PATCH", f"/projects/{pid}", {"alerts": [ci_hook]})
    assert alice("POST", f"/projects/{pid}/alerts/ci/test")["outcome"] == "delivered"
    # A recipient's links (no account): the unsubscribe page and its one-click POST, then the
    # confirm page and POST (a recipient may change their mind).
    from chalicelib.notify.recipients import CONFIRM, UNSUBSCRIBE, make_token, recipient_id

    rid = recipient_id("email", "ops@example.com")
    form = {"raw": b"List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}
    for action in (UNSUBSCRIBE, CONFIRM):
        link = f"/hooks/recipients/{action}?token={make_token(action, pid, rid)}"
        assert "<form" in anyone("GET", link)
        anyone("POST", link, **form)
    alice("POST", f"/projects/{pid}/members", {"username": "bobby"})
    alice("GET", f"/projects/{pid}/members")
    alice("DELETE", f"/projects/{pid}/members", {"username": "bobby"})
    module = alice("POST", f"/projects/{pid}/modules", {"name": "orders"})
    mid = module["id"]
    alice("GET", f"/projects/{pid}/modules?limit=1")
    alice("GET", f"/modules/{mid}")
    alice("PATCH", f"/modules/{mid}", {"description": "order flows"})
    passing = alice("POST", f"/modules/{mid}/testcases", {"testcase": case("passes")})
    alice("POST", f"/modules/{mid}/testcases", {"testcase": case("fails", status=500, expect=200)})
    imported = alice("POST", f"/modules/{mid}/testcases/import", raw=YAML_CASE,
                     content_type="application/yaml")
    alice("GET", f"/modules/{mid}/testcases")
    alice("GET", f"/testcases/{passing['id']}")
    alice("PUT", f"/testcases/{imported['id']}", {"name": "imported again", "testcase": sample_doc("again")})
    alice("DELETE", f"/testcases/{imported['id']}")

    # The project's debugtalk.py: saved (a version), read; deleted with the rest below.
    alice("PUT", f"/projects/{pid}/debugtalk", raw="def sign(x):\n    return x\n",
          content_type="text/x-python")
    assert alice("GET", f"/projects/{pid}/debugtalk")["functions"] == ["sign"]

    # The project's files: one uploaded (201), replaced (200), listed, deleted (204).
    csv_path = f"/projects/{pid}/files?path=data/users.csv"
    alice("PUT", csv_path, raw=b"name\nalice\n", content_type="text/csv")
    alice("PUT", csv_path, raw=b"name\nbob\n", content_type="text/csv")
    assert [f["path"] for f in alice("GET", f"/projects/{pid}/files")["items"]] == ["data/users.csv"]
    alice("DELETE", csv_path)

    # Runs: queued (202), finished reports with detail, JUnit, debug, dashboard, the CI webhook.
    alice("POST", f"/testcases/{passing['id']}/runs", {})
    alice("POST", f"/modules/{mid}/runs", {"environment": "default"})
    queued = alice("POST", f"/projects/{pid}/runs")
    alice("GET", f"/reports/{queued['report_id']}")  # still queued: no detail yet
    run_queue()
    report = alice("GET", f"/reports/{queued['report_id']}")
    assert report["status"] == "failed" and report["testcases"][0]["steps"], report
    alice("GET", f"/projects/{pid}/reports")
    assert "<testsuite" in alice("GET", f"/reports/{queued['report_id']}/junit")
    alice("POST", "/testcases/debug", {"project_id": pid, "testcase": case("debugged")})
    alice("GET", "/dashboard")
    secret = alice("POST", f"/projects/{pid}/webhook-secret")["secret"]
    raw = json.dumps({"module_ids": [mid]}).encode()
    stamp = int(time.time())
    anyone("POST", f"/hooks/projects/{pid}/runs", raw=raw, headers={
        "X-Hat-Timestamp": str(stamp), "X-Hat-Signature": signature(secret, stamp, raw)})
    # GitHub's and GitLab's own webhooks, and the rules they are matched against.
    alice("GET", f"/projects/{pid}/hook-rules")
    alice("PUT", f"/projects/{pid}/hook-rules", {"rules": [{"events": ["push"], "branches": ["master"]}]})
    for event, payload in (("push", hooks.github_push()), ("ping", hooks.github_ping())):
        raw = hooks.encode(payload)
        anyone("POST", f"/hooks/projects/{pid}/github", raw=raw,
               headers=hooks.github_headers(event, raw, secret))
    alice("PUT", f"/projects/{pid}/github-token", {"token": "ghp_example"})
    alice("DELETE", f"/projects/{pid}/github-token")
    for branch in ("master", "feature"):
        anyone("POST", f"/hooks/projects/{pid}/gitlab", raw=hooks.encode(hooks.gitlab_push(branch)),
               headers=hooks.gitlab_headers("Push Hook", secret))

    # API keys: made, listed, used (which key am I?), revoked.
    made = alice("POST", f"/projects/{pid}/keys", {"name": "ci", "scopes": ["read", "run"]})
    alice("GET", f"/projects/{pid}/keys")
    Client(client.http, contract, made["key"])("GET", "/keys/current")
    alice("DELETE", f"/projects/{pid}/keys/{made['id']}")

    # Scheduled tasks.
    task = alice("POST", "/tasks", {"name": "nightly", "project_id": pid, "module_ids": [mid],
                                    "crontab": "30 9 * * 1-5", "timezone": "Asia/Shanghai",
                                    "notify": {"emails": ["ops@example.com"], "when": "always"}})
    alice("POST", f"/tasks/{task['id']}/runs")
    alice("GET", f"/tasks?project_id={pid}")
    run_queue()
    assert alice("GET", f"/tasks/{task['id']}/history")["items"]
    assert alice("GET", f"/tasks?project_id={pid}&include=history")["items"][0]["history"]["items"]
    alice("GET", f"/testcases/{passing['id']}/history")
    shown = alice("GET", f"/tasks/{task['id']}")
    assert shown["last_report"] and len(shown["schedule"]["next_runs"]) == 3, shown
    alice("PATCH", f"/tasks/{task['id']}", {"enabled": False})
    alice("DELETE", f"/tasks/{task['id']}")

    # Imports: cURL lines into a module, a Postman collection into the project (each previewed first).
    curl = "curl -X POST https://api.example.com/orders -H 'Content-Type: application/json' -d '{\"sku\": 1}'"
    alice("POST", f"/modules/{mid}/import?dry_run=1", raw=curl, content_type="text/plain")
    alice("POST", f"/modules/{mid}/import", raw=curl, content_type="text/plain")
    collection = json.dumps({"info": {"name": "shop", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/"},
                             "item": [{"name": "Orders", "item": [{"name": "list", "request": "https://api.example.com/o"}]}]})
    alice("POST", f"/projects/{pid}/import?dry_run=1", raw=collection)
    alice("POST", f"/projects/{pid}/import", raw=collection)
    with_environment = json.dumps({"collection": json.loads(collection), "environment": {
        "name": "ci", "values": [{"key": "token", "value": "tok-123456", "type": "secret"}]}})
    previewed = alice("POST", f"/modules/{mid}/import?environment=ci&dry_run=1", raw=with_environment)
    assert previewed["environment"]
    assert alice("POST", f"/modules/{mid}/import?environment=ci", raw=with_environment)["environment"] == {
        "name": "ci", "variables": [], "secrets": ["token"]}
    with ShopServer() as specs:  # an OpenAPI document served by URL, imported and re-synced
        operation = {"operationId": "ok", "responses": {"200": {"description": "ok"}}}
        ShopHandler.documents["flow.json"] = json.dumps({"openapi": "3.1.0", "info": {"title": "t"},
                                                         "paths": {"/status/200": {"get": operation}}})
        synced = alice("POST", f"/projects/{pid}/modules", {"name": "synced"})["id"]
        alice("POST", f"/modules/{synced}/import?source_url={specs.url}/specs/flow.json", raw="",
              content_type="text/plain")
        alice("POST", f"/modules/{synced}/import/sync", raw="", content_type="text/plain")

    # Deletes, children first.
    alice("DELETE", f"/projects/{pid}/debugtalk")
    alice("DELETE", f"/testcases/{passing['id']}")
    alice("DELETE", f"/modules/{mid}")
    alice("DELETE", f"/projects/{pid}")

    missing = contract.declared() - contract.seen - set(EXEMPT)
    assert not missing, f"declared success answers no flow here produced: {sorted(missing)}"


def test_a_changed_answer_shape_fails_the_contract(client, make_user, contract):
    """The check above is not vacuous: a project without a promised field does not pass."""
    alice = make_user("alice")
    response = client.http.post("/projects", headers=alice.headers, body=json.dumps({"name": "shop"}))
    project = json.loads(response.body)
    del project["module_count"]
    response.body = json.dumps(project).encode()
    with pytest.raises(AssertionError, match="module_count"):
        contract.check("POST", "/projects", response)
    response.status_code = 200  # a create must answer 201
    with pytest.raises(AssertionError, match="answered 200"):
        contract.check("POST", "/projects", response)
