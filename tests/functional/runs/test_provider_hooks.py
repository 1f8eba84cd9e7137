"""GitHub's and GitLab's own webhooks (runs/hooks.py): each sender's proof checked with the
project's webhook secret, ping, the project's rules (defaults and its own), replays by
delivery id, tampering, and the DynamoDB calls per delivery."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from tests.functional.runs import hook_payloads as gh
from tests.functional.runs.conftest import case, queue_messages


def _post(api, path: str, body: bytes, headers: dict):
    response = api.client.http.post(path, body=body, headers=headers)
    return response.status_code, json.loads(response.body or b"null")


def github(api, project_id: str, event: str, payload: dict, secret: str, *, delivery: str | None = None,
           body: bytes | None = None):
    raw = gh.encode(payload)
    headers = gh.github_headers(event, raw, secret, delivery=delivery)
    return _post(api, f"/hooks/projects/{project_id}/github", raw if body is None else body, headers)


def gitlab(api, project_id: str, event: str, payload: dict, token: str, *, key: str | None = None):
    headers = gh.gitlab_headers(event, token, idempotency_key=key)
    return _post(api, f"/hooks/projects/{project_id}/gitlab", gh.encode(payload), headers)


def _runs(aws) -> list[dict]:
    return [m for m in queue_messages(aws, "runs") if m.get("kind") == "run"]


def test_github_ping_push_and_deployment_by_the_default_rules(alice, target, run_queue, aws):
    shop = alice.shop(target.url)
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]

    assert github(alice, project_id, "ping", gh.github_ping(), secret) == (200, {"ok": True, "event": "ping"})
    status, answer = github(alice, project_id, "push", gh.github_push("feature/login"), secret)
    assert status == 200
    assert answer["ignored"] == "no rule of this project runs on a push to branch 'feature/login'"
    status, answer = github(alice, project_id, "push", gh.github_push("master", deleted=True), secret)
    assert (status, answer["ignored"]) == (200, "the push deleted 'refs/heads/master'")
    status, answer = github(alice, project_id, "deployment_status", gh.github_deployment_status("pending"),
                            secret)
    assert (status, answer["ignored"]) == (200, "deployment state 'pending' (only 'success' runs)")
    status, answer = github(alice, project_id, "issues", {"action": "opened"}, secret)
    assert (status, answer["ignored"]) == (200, "hat does not run on github event 'issues'")
    assert _runs(aws) == []  # nothing above queued a run

    status, pushed = github(alice, project_id, "push", gh.github_push("master"), secret)  # the default branch
    assert status == 202, pushed
    assert (pushed["status"], pushed["rule"], pushed["event"]) == ("queued", 0, "push to branch 'master'")
    status, deployed = github(alice, project_id, "deployment_status", gh.github_deployment_status(), secret)
    assert (status, deployed["rule"]) == (202, 1)

    run_queue()
    report = alice.get(f"/reports/{pushed['report_id']}").body
    assert (report["status"], report["trigger"]) == ("passed", "webhook")
    assert report["origin"] == {"provider": "github", "event": "push",
                                "delivery": report["origin"]["delivery"],
                                "repository": "Codertocat/Hello-World", "branch": "master",
                                "sha": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "rule": 0}
    assert report["environment"] == "default"  # the deployment's "production" is not one of the project's


def test_a_delivery_seen_before_starts_nothing(alice, target, aws):
    shop = alice.shop(target.url)
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert github(alice, project_id, "push", gh.github_push(), secret, delivery=delivery)[0] == 202
    status, again = github(alice, project_id, "push", gh.github_push(), secret, delivery=delivery)
    assert (status, again) == (200, {"ignored": f"delivery {delivery!r} was already handled",
                                     "duplicate": True})
    assert len(_runs(aws)) == 1
    assert len(alice.get(f"/projects/{project_id}/reports").body["items"]) == 1

    token = secret
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), token, key="k-1")[0] == 202
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), token, key="k-1")[1]["duplicate"] is True
    # the same id from the other sender is another delivery
    assert github(alice, project_id, "push", gh.github_push(), secret, delivery="k-1")[0] == 202


def test_bad_proofs_are_401_and_write_nothing(alice, target, aws, ddb_calls):
    shop = alice.shop(target.url)
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    raw = gh.encode(gh.github_push())
    tampered = raw.replace(b'"master"', b'"main"', 1)
    headers = gh.github_headers("push", raw, secret)
    ddb_calls.clear()
    status, answer = _post(alice, f"/hooks/projects/{project_id}/github", tampered, headers)
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert github(alice, project_id, "push", gh.github_push(), "whsec_wrong")[0] == 401
    no_signature = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}  # sha1 alone: no
    assert _post(alice, f"/hooks/projects/{project_id}/github", raw, no_signature)[0] == 401
    assert github(alice, "f" * 32, "push", gh.github_push(), secret)[0] == 401  # another project
    assert github(alice, "not-an-id", "ping", gh.github_ping(), secret)[0] == 401
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), "whsec_wrong")[0] == 401
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), secret[:-1])[0] == 401
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), "")[0] == 401
    assert all(call == "GetItem" for call in ddb_calls), ddb_calls  # reads only: nothing written
    assert _runs(aws) == []


def test_signed_but_malformed_deliveries_are_400_not_500(alice, target):
    shop = alice.shop(target.url)
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    for body, code in ((b"{not json", "invalid_json"), (b"[1, 2]", "invalid_json"),
                       (b"[" * 100_000 + b"]" * 100_000, "too_deep")):  # too_deep names the limit
        headers = gh.github_headers("push", body, secret)
        status, answer = _post(alice, f"/hooks/projects/{project_id}/github", body, headers)
        assert (status, answer["error"]["code"]) == (400, code), body[:20]
    raw = gh.encode(gh.github_push())
    headers = {k: v for k, v in gh.github_headers("push", raw, secret).items() if k != "X-GitHub-Delivery"}
    assert _post(alice, f"/hooks/projects/{project_id}/github", raw, headers)[1]["error"]["code"] == \
        "missing_delivery"
    headers = gh.github_headers("push", raw, secret, delivery="x" * 129)
    assert _post(alice, f"/hooks/projects/{project_id}/github", raw, headers)[0] == 400


def test_github_form_encoded_payloads_are_accepted(alice, target):
    shop = alice.shop(target.url)
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    form = urlencode({"payload": json.dumps(gh.github_push())}).encode()
    headers = {**gh.github_headers("push", form, secret), "Content-Type": "application/x-www-form-urlencoded"}
    assert _post(alice, f"/hooks/projects/{project_id}/github", form, headers)[0] == 202


def test_project_rules_pick_events_branches_environments_modules(alice, target, run_queue, aws):
    shop = alice.shop(target.url, [case("ok")])
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    alice.patch(f"/projects/{project_id}", {"environments": {
        "default": {"base_url": target.url, "variables": {}},
        "staging": {"base_url": target.url, "variables": {}}}})
    smoke = alice.module(project_id, "smoke")
    alice.post(f"/modules/{smoke['id']}/testcases", {"testcase": case("smoke-1")})

    rules = {"rules": [
        {"events": ["push"], "branches": ["release/*"], "providers": ["gitlab"], "modules": [smoke["id"]],
         "environment": "staging"},
        {"events": ["deployment"], "environments": ["staging"]},
    ]}
    answer = alice.put(f"/projects/{project_id}/hook-rules", rules)
    assert answer.status == 200, answer.body
    assert answer.body["default"] is False
    assert alice.get(f"/projects/{project_id}/hook-rules").body["rules"] == rules["rules"]

    # push to the default branch no longer runs; a GitLab push to release/* runs the smoke module
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push("master"), secret)[0] == 200
    assert github(alice, project_id, "push", gh.github_push("release/2.0"), secret)[0] == 200  # gitlab only
    status, pushed = gitlab(alice, project_id, "Push Hook", gh.gitlab_push("release/2.0"), secret)
    assert (status, pushed["rule"]) == (202, 0), pushed
    production = gh.gitlab_deployment(environment="production")
    status, answer = gitlab(alice, project_id, "Deployment Hook", production, secret)
    assert (status, answer["ignored"]) == (200, "no rule of this project runs on a deployment to "
                                                "'production'")
    status, deployed = gitlab(alice, project_id, "Deployment Hook", gh.gitlab_deployment(), secret)
    assert (status, deployed["rule"]) == (202, 1)
    status, answer = gitlab(alice, project_id, "Deployment Hook", gh.gitlab_deployment("running"), secret)
    assert answer["ignored"] == "deployment status 'running' (only 'success' runs)"

    run_queue()
    smoke_run = alice.get(f"/reports/{pushed['report_id']}").body
    assert [t["name"] for t in smoke_run["testcases"]] == ["smoke-1"]
    assert smoke_run["environment"] == "staging"
    deploy_run = alice.get(f"/reports/{deployed['report_id']}").body
    assert deploy_run["environment"] == "staging"  # named like the deployment's environment
    assert len(deploy_run["testcases"]) == 2  # the whole project

    assert alice.put(f"/projects/{project_id}/hook-rules", {"rules": None}).body["default"] is True


def test_rules_are_checked_naming_the_field(alice, bob, target):
    shop = alice.shop(target.url)
    project_id = shop["project"]["id"]
    other = alice.project("other")
    foreign = alice.module(other["id"], "theirs")
    bad = alice.put(f"/projects/{project_id}/hook-rules", {"rules": [
        {"events": ["push"], "modules": [foreign["id"]]}, {"events": ["push"], "environment": "nope"}]})
    assert bad.status == 400
    assert set(bad.error["fields"]) == {"rules[0].modules[0]", "rules[1].environment"}
    assert alice.put(f"/projects/{project_id}/hook-rules", {"rules": [{"events": ["merge"]}]}).status == 400
    assert alice.put(f"/projects/{project_id}/hook-rules", {"rules": [{"events": []}]}).status == 400
    too_many = {"rules": [{"events": ["push"]}] * 21}
    assert alice.put(f"/projects/{project_id}/hook-rules", too_many).status == 400
    assert bob.get(f"/projects/{project_id}/hook-rules").status == 404
    assert bob.put(f"/projects/{project_id}/hook-rules", {"rules": None}).status == 404


def test_a_rotated_secret_still_verifies_in_its_grace_period(alice, target):
    shop = alice.shop(target.url)
    project_id, first = shop["project"]["id"], shop["project"]["webhook_secret"]
    second = alice.post(f"/projects/{project_id}/webhook-secret").body["secret"]
    assert github(alice, project_id, "push", gh.github_push(), first)[0] == 202
    assert gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), second)[0] == 202


def test_ddb_calls_per_delivery(alice, target, ddb_calls):
    shop = alice.shop(target.url)
    project_id, secret = shop["project"]["id"], shop["project"]["webhook_secret"]
    spent = {}
    for label, send in (
            ("github ping", lambda: github(alice, project_id, "ping", gh.github_ping(), secret)),
            ("github push run", lambda: github(alice, project_id, "push", gh.github_push(), secret,
                                               delivery="d1")),
            ("github push replay", lambda: github(alice, project_id, "push", gh.github_push(), secret,
                                                  delivery="d1")),
            ("github push ignored", lambda: github(alice, project_id, "push", gh.github_push("x"), secret)),
            ("gitlab push run", lambda: gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), secret)),
            ("gitlab bad token", lambda: gitlab(alice, project_id, "Push Hook", gh.gitlab_push(), "no")),
            ("PUT hook-rules", lambda: (alice.put(f"/projects/{project_id}/hook-rules",
                                                  {"rules": [{"events": ["push"]}]}), None)),
            ("PUT hook-rules naming a module", lambda: (alice.put(
                f"/projects/{project_id}/hook-rules",
                {"rules": [{"events": ["push"], "modules": [shop["module"]["id"]]}]}), None))):
        ddb_calls.clear()
        send()
        spent[label] = list(ddb_calls)
    print("\nDynamoDB calls per delivery:", json.dumps(spent, indent=1))
    assert spent["github push run"] == ["GetItem", "TransactWriteItems"]
    assert spent["gitlab push run"] == ["GetItem", "TransactWriteItems"]
    assert spent["github push replay"] == ["GetItem", "TransactWriteItems"]
    for label in ("github ping", "github push ignored", "gitlab bad token"):
        assert spent[label] == ["GetItem"], label
    assert spent["PUT hook-rules"] == ["GetItem", "GetItem", "UpdateItem"]
    assert spent["PUT hook-rules naming a module"] == ["GetItem", "GetItem", "BatchGetItem", "UpdateItem"]
