"""The CI webhook: per-project secret (made with the project and shown once, rotated by the
owner), HMAC over "<ts>.<body>", 300 s tolerance, replays refused; the outbound callback,
signed the same way, retried; the project's default callback and recipients."""
from __future__ import annotations

import json
import time

from chalicelib.core.clock import utcnow
from chalicelib.core.edge import run_testcases
from chalicelib.core.signing import signature
from tests.functional.runs.conftest import case


def _hook(api, project_id: str, body: dict | bytes, secret: str, *, timestamp: int | None = None,
          sig: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json", "X-Hat-Timestamp": str(stamp),
               "X-Hat-Signature": sig or signature(secret, stamp, raw)}
    response = api.client.http.post(f"/hooks/projects/{project_id}/runs", headers=headers, body=raw)
    return response.status_code, json.loads(response.body or b"null")


def test_signed_webhook_runs_and_bad_stale_replayed_or_unsigned_are_401(alice, bob, target, run_queue):
    shop = alice.shop(target.url)
    project_id = shop["project"]["id"]
    alice.post(f"/projects/{project_id}/members", {"username": "bobby"})
    assert bob.post(f"/projects/{project_id}/webhook-secret").status == 403  # owner only
    assert _hook(alice, project_id, {}, "whsec_guess")[0] == 401
    secret = shop["project"]["webhook_secret"]  # made with the project, shown in its 201 only
    assert secret.startswith("whsec_")
    assert "webhook_secret" not in alice.get(f"/projects/{project_id}").body
    assert all("webhook_secret" not in p for p in alice.get("/projects").body["items"])

    body = {"module_ids": [shop["module"]["id"]]}
    raw = json.dumps(body).encode()
    stamp = int(time.time())
    status, answer = _hook(alice, project_id, raw, secret, timestamp=stamp)
    assert status == 202, answer
    report_id = answer["report_id"]
    status, again = _hook(alice, project_id, raw, secret, timestamp=stamp)  # the same request again
    assert (status, again["error"]["code"]) == (401, "replayed")
    assert _hook(alice, project_id, body, "whsec_wrong")[1]["error"]["code"] == "bad_signature"
    assert _hook(alice, project_id, body, secret, timestamp=int(time.time()) - 301)[0] == 401  # stale
    assert _hook(alice, project_id, body, secret, timestamp=int(time.time()) + 301)[0] == 401
    assert _hook(alice, project_id, body, secret, sig="sha256=" + "0" * 64)[0] == 401
    response = alice.client.http.post(f"/hooks/projects/{project_id}/runs", body=raw,
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 401  # unsigned
    assert _hook(alice, "f" * 32, body, secret)[0] == 401  # another project: its secret differs
    assert _hook(alice, project_id, b'{"environment": 5}', secret)[0] == 400  # signed but invalid

    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert (report["status"], report["trigger"]) == ("passed", "webhook")


def test_rotation_keeps_the_previous_secret_for_a_grace_period_only(alice, target, monkeypatch):
    from chalicelib.core.settings import reset_settings

    project = alice.shop(target.url)["project"]
    project_id = project["id"]
    first = project["webhook_secret"]
    rotated = alice.post(f"/projects/{project_id}/webhook-secret")
    assert rotated.status == 201
    second = rotated.body["secret"]
    assert first != second
    assert _hook(alice, project_id, {"environment": "default"}, first)[0] == 202
    assert _hook(alice, project_id, {}, second)[0] == 202
    monkeypatch.setenv("HAT_WEBHOOK_PREVIOUS_SECRET_SECONDS", "0")
    reset_settings()
    assert _hook(alice, project_id, {"module_ids": []}, first)[0] == 401
    third = alice.post(f"/projects/{project_id}/webhook-secret").body["secret"]
    assert _hook(alice, project_id, {}, second)[0] == 401
    assert _hook(alice, project_id, {"environment": None}, third)[0] == 202


def test_the_callback_is_signed_retried_with_backoff_and_sent_once(alice, target, run_queue, aws):
    shop = alice.shop(target.url, [case("broken", status=500)])
    project_id = shop["project"]["id"]
    secret = shop["project"]["webhook_secret"]
    target.hook_status[0] = 503  # the CI endpoint is down at first
    status, answer = _hook(alice, project_id, {"callback_url": f"{target.url}/hook"}, secret)
    assert status == 202
    report_id = answer["report_id"]
    run_queue(max_rounds=2, must_empty=False)  # the run, then the callback's first try (fails, stays queued)
    assert len(target.received) >= 1
    target.hook_status[0] = 200
    run_queue()
    deliveries = target.received
    assert 2 <= len(deliveries) <= 3
    last = deliveries[-1]
    expected = signature(secret, last["headers"]["x-hat-timestamp"], last["body"])
    assert last["headers"]["x-hat-signature"] == expected
    sent = json.loads(last["body"])
    assert sent["event"] == "run.finished"
    assert (sent["report"]["id"], sent["report"]["status"]) == (report_id, "failed")
    run_queue()
    assert len(target.received) == len(deliveries)  # delivered: never again


def test_a_callback_to_a_private_address_is_refused_by_the_outbound_guard(alice, target, run_queue,
                                                                          monkeypatch):
    from chalicelib.core.settings import reset_settings
    from chalicelib.runs import followups
    from chalicelib.runs.models import Report

    shop = alice.shop(target.url)
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs",
                           {"callback_url": f"{target.url}/hook"}).body["report_id"]
    run_queue(max_rounds=1, must_empty=False)  # the run only
    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "")
    reset_settings()
    assert Report.get(report_id).status == "passed"
    try:
        followups.handle_callback(report_id, clock=utcnow, runner=run_testcases)
    except followups.CallbackFailed as refused:
        assert "outbound" in str(refused) or "refused" in str(refused)
    else:
        raise AssertionError("the guard let a loopback callback through")
    assert target.received == []


def test_the_projects_callback_and_recipients_are_the_default_for_its_runs(alice, target, run_queue, aws,
                                                                          confirm_outside):
    from tests.functional.runs.conftest import queue_messages

    shop = alice.shop(target.url, [case("broken", status=500)])
    project_id = shop["project"]["id"]
    defaults = {"callback_url": f"{target.url}/hook",
                "notify": {"emails": ["team@example.com"], "mobiles": [], "when": "always"}}
    patched = alice.patch(f"/projects/{project_id}", defaults)
    assert patched.status == 200 and patched.body["callback_url"] == defaults["callback_url"]
    assert alice.get(f"/projects/{project_id}").body["notify"] == defaults["notify"]
    assert confirm_outside() == ["team@example.com"]  # asked when set as the default

    secret = shop["project"]["webhook_secret"]
    assert _hook(alice, project_id, {}, secret)[0] == 202  # CI gives neither: the project's apply
    run_queue()
    assert [m["to"] for m in queue_messages(aws, "email")] == ["team@example.com"]
    assert len(target.received) == 1
    assert target.received[0]["headers"]["x-hat-signature"] == signature(
        secret, target.received[0]["headers"]["x-hat-timestamp"], target.received[0]["body"])

    own = {"emails": ["me@example.com"], "when": "always"}
    alice.post(f"/projects/{project_id}/runs", {"notify": own})  # a run's own recipients win
    assert confirm_outside() == ["me@example.com"]
    run_queue()
    assert [m["to"] for m in queue_messages(aws, "email")] == ["me@example.com"]
    assert len(target.received) == 2

    cleared = alice.patch(f"/projects/{project_id}", {"callback_url": None, "notify": None})
    assert (cleared.body["callback_url"], cleared.body["notify"]) == (None, None)
    alice.post(f"/projects/{project_id}/runs", {})
    run_queue()
    assert queue_messages(aws, "email") == [] and len(target.received) == 2

    bad = alice.patch(f"/projects/{project_id}", {"callback_url": "ftp://x", "notify": {"when": "hourly"}})
    assert bad.status == 400 and {"callback_url", "notify.when"} <= set(bad.body["error"]["fields"])
