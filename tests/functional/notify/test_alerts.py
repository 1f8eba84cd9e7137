"""Alert channels (issue 20, items 1 and 2) against local stand-ins of each provider's webhook
API: payload shapes, Feishu's and DingTalk's signatures computed here as their docs say, one
message per report and channel through a 500, nothing twice on a redelivered finish,
write-only secrets, the test-message route, a task's override, after-N-failures."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from chalicelib.core.clock import utcnow
from chalicelib.core.edge import run_testcases
from chalicelib.core.signing import signature
from chalicelib.notify.recipients import CONFIRM_PATH
from tests.functional.notify.chat_stand_in import ChatStandIn
from tests.functional.runs.conftest import case

FAILING = [case("checkout", status=500)]
FEISHU_SECRET = "feishu-signing-secret"
DING_SECRET = "SECdingtalk-signing-secret"


@pytest.fixture
def chat():
    stand_in = ChatStandIn().start()
    yield stand_in
    stand_in.stop()


def _channels(chat) -> list[dict]:
    return [{"id": "slack", "type": "slack", "target": f"{chat.url}/slack"},
            {"id": "teams", "type": "teams", "target": f"{chat.url}/teams"},
            {"id": "feishu", "type": "feishu", "target": f"{chat.url}/feishu", "secret": FEISHU_SECRET},
            {"id": "ding", "type": "dingtalk", "target": f"{chat.url}/dingtalk?access_token=t0k",
             "secret": DING_SECRET},
            {"id": "wecom", "type": "wecom", "target": f"{chat.url}/wecom?key=k3y"},
            {"id": "hook", "type": "webhook", "target": f"{chat.url}/hook"}]


def _feishu_sign_as_documented(timestamp: str, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _dingtalk_sign_as_documented(timestamp: str, secret: str) -> str:
    message = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def test_every_channel_gets_its_providers_payload_once_through_a_500(alice, target, run_queue, notify, chat,
                                                                      aws):
    shop = alice.shop(target.url, FAILING, name="shop <b>")
    pid = shop["project"]["id"]
    saved = alice.patch(f"/projects/{pid}", {"alerts": _channels(chat)})
    assert saved.status == 200, saved.body
    shown = {c["id"]: c for c in saved.body["alerts"]}
    assert shown["feishu"]["has_secret"] and shown["ding"]["has_secret"] and not shown["slack"]["has_secret"]
    assert FEISHU_SECRET not in json.dumps(alice.get(f"/projects/{pid}").body)  # write-only
    chat.answers["slack"] = [500]  # Slack fails once, then takes it

    report_id = alice.post(f"/projects/{pid}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    outcomes = {a["alert_id"]: a["outcome"] for a in report["alerts"]}
    assert outcomes == dict.fromkeys(shown, "delivered"), report["alerts"]
    assert [r.provider for r in chat.received].count("slack") == 2  # the 500, then the one message
    assert {r.provider for r in chat.received} == {"slack", "teams", "feishu", "dingtalk", "wecom", "hook"}
    assert all(len(chat.of(p)) == 1 for p in ("teams", "feishu", "dingtalk", "wecom", "hook"))

    slack = chat.of("slack")[-1].json
    assert slack["text"].startswith("hat: ")
    assert [b["type"] for b in slack["blocks"]][:2] == ["header", "section"]
    assert "expected 200, actual 500" in slack["blocks"][1]["text"]["text"]
    assert "&lt;b&gt;" in slack["blocks"][1]["text"]["text"]  # Slack's own escaping of <, >, &
    link = next(b for b in slack["blocks"] if b["type"] == "actions")["elements"][0]["url"]
    assert link.endswith(f"/ui/reports/{report_id}")

    teams = chat.of("teams")[0].json
    assert teams["type"] == "message"
    attachment = teams["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["actions"][0]["url"] == link

    feishu = chat.of("feishu")[0].json
    assert feishu["msg_type"] == "interactive" and feishu["card"]["header"]["template"] == "red"
    assert feishu["sign"] == _feishu_sign_as_documented(feishu["timestamp"], FEISHU_SECRET)

    ding = chat.of("dingtalk")[0]
    assert ding.query["access_token"] == "t0k"
    assert ding.query["sign"] == _dingtalk_sign_as_documented(ding.query["timestamp"], DING_SECRET)
    assert ding.json["msgtype"] == "markdown" and "checkout" in ding.json["markdown"]["text"]
    wecom = chat.of("wecom")[0]
    assert wecom.query == {"key": "k3y"} and wecom.json["msgtype"] == "markdown"

    hook = chat.of("hook")[0]
    assert hook.json["event"] == "run.finished" and hook.json["report"]["id"] == report_id
    secret = shop["project"]["webhook_secret"]
    assert hook.headers["x-hat-signature"] == signature(secret, hook.headers["x-hat-timestamp"], hook.raw)

    # A redelivered finish, and a redelivered alert job, send nothing twice.
    from chalicelib.runs import followups
    from chalicelib.runs.models import Report

    sent = len(chat.received)
    followups.after_finish(Report.get(report_id), clock=utcnow)
    followups.handle_alert(report_id, "teams", clock=utcnow, runner=run_testcases)
    run_queue()
    assert len(chat.received) == sent

    # Secrets kept when the list is written back without them; the next message still signs.
    kept = [{k: v for k, v in c.items() if k != "secret"} for c in _channels(chat)]
    assert alice.patch(f"/projects/{pid}", {"alerts": kept}).status == 200
    answer = alice.post(f"/projects/{pid}/alerts/feishu/test")
    assert answer.status == 200 and answer.body["outcome"] == "delivered", answer.body
    test = chat.of("feishu")[-1].json
    assert test["sign"] == _feishu_sign_as_documented(test["timestamp"], FEISHU_SECRET)
    assert "test message" in test["card"]["header"]["title"]["content"]


def test_a_test_message_reports_a_failing_channel_and_the_guard(alice, target, chat, monkeypatch):
    from chalicelib.core.settings import reset_settings

    pid = alice.project("p")["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [{"id": "w", "type": "wecom", "target": f"{chat.url}/wecom"}]})
    chat.answers["wecom"] = [500]
    failed = alice.post(f"/projects/{pid}/alerts/w/test").body
    assert failed["outcome"] == "failed" and "500" in failed["error"]
    assert alice.post(f"/projects/{pid}/alerts/nope/test").status == 404
    monkeypatch.delenv("HAT_OUTBOUND_ALLOW")  # loopback is private: the guard refuses it
    reset_settings()
    refused = alice.post(f"/projects/{pid}/alerts/w/test").body
    assert refused["outcome"] == "failed" and len(chat.of("wecom")) == 1, refused


def test_bad_channels_are_400s_naming_the_field(alice):
    pid = alice.project("p")["id"]
    for alerts, field in (([{"type": "pager", "target": "x"}], "alerts[0].type"),
                          ([{"type": "email", "target": "nope"}], "alerts[0]"),
                          ([{"type": "slack", "target": "ftp://x"}], "alerts[0]"),
                          ([{"type": "slack", "target": "https://x.example", "secret": "s"}], "alerts[0]"),
                          ([{"type": "slack", "target": "https://x.example", "after_failures": 0}],
                           "alerts[0].after_failures"),
                          ([{"id": "a", "type": "slack", "target": "https://x.example"}] * 2, "alerts")):
        answer = alice.patch(f"/projects/{pid}", {"alerts": alerts})
        assert answer.status == 400 and field in answer.error["fields"], (alerts, answer.body)


def test_a_task_overrides_the_project_and_alerts_after_n_failures(alice, target, run_queue, notify, chat):
    shop = alice.shop(target.url, FAILING)
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [{"id": "p", "type": "slack", "target": f"{chat.url}/slack"}]})
    task = alice.post("/tasks", {"name": "nightly", "project_id": pid, "crontab": "0 3 * * *", "alerts": [
        {"id": "t", "type": "wecom", "target": f"{chat.url}/wecom", "after_failures": 2}]}).body
    assert task["alerts"][0]["after_failures"] == 2
    first = alice.post(f"/tasks/{task['id']}/runs").body["report_id"]
    run_queue()
    assert alice.get(f"/reports/{first}").body["alerts"] == [
        {"alert_id": "t", "type": "wecom", "outcome": "suppressed"}]
    second = alice.post(f"/tasks/{task['id']}/runs").body["report_id"]
    run_queue()
    assert [a["outcome"] for a in alice.get(f"/reports/{second}").body["alerts"]] == ["delivered"]
    assert [r.provider for r in chat.received] == ["wecom"]  # never the project's Slack


def test_recovery_tells_once_and_a_task_can_fall_back_to_the_projects_channels(alice, target, run_queue,
                                                                                 notify, chat):
    shop = alice.shop(target.url, FAILING)
    pid, tid = shop["project"]["id"], shop["testcases"][0]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [{"id": "w", "type": "wecom", "target": f"{chat.url}/wecom"}]})
    alice.post(f"/projects/{pid}/runs")
    run_queue()
    assert alice.put(f"/testcases/{tid}", {"testcase": case("checkout")}).status == 200
    fixed = alice.post(f"/projects/{pid}/runs").body["report_id"]
    run_queue()
    alice.post(f"/projects/{pid}/runs")  # passing again: quiet
    run_queue()
    texts = [r.json["markdown"]["content"] for r in chat.of("wecom")]
    assert len(texts) == 2 and "FAILED" in texts[0] and "FIXED" in texts[1]
    assert [a["outcome"] for a in alice.get(f"/reports/{fixed}").body["alerts"]] == ["delivered"]

    task = alice.post("/tasks", {"name": "t", "project_id": pid, "crontab": "0 3 * * *", "alerts": [
        {"id": "s", "type": "slack", "target": f"{chat.url}/slack", "when": ["always"]}]}).body
    cleared = alice.patch(f"/tasks/{task['id']}", {"alerts": None})
    assert cleared.status == 200 and cleared.body["alerts"] == [], cleared.body


def test_a_quiet_window_holds_repeats_by_the_injected_clock(alice, target, run_queue, notify, chat, aws,
                                                            clock):
    from chalicelib.runs import queueing, worker
    from tests.functional.runs.conftest import queue_messages

    shop = alice.shop(target.url, FAILING)
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [
        {"id": "w", "type": "wecom", "target": f"{chat.url}/wecom", "quiet_minutes": 30}]})
    outcomes, start = [], clock.now
    for minutes in (0, 10, 20, 31):
        clock.now = start + timedelta(minutes=minutes)
        report_id = queueing.start_run(pid, module_ids=None, environment=None, trigger="manual",
                                      clock=clock)["report_id"]
        queue_messages(aws, "runs")  # the run job: run here, on the test's clock
        status = worker.handle_run(report_id, clock=clock, budget_seconds=None, runner=run_testcases)
        assert status == "failed"
        run_queue()  # the alert jobs
        outcomes.append(alice.get(f"/reports/{report_id}").body["alerts"][0]["outcome"])
    assert outcomes == ["delivered", "suppressed", "suppressed", "delivered"]
    assert len(chat.of("wecom")) == 2


def test_an_email_alert_channel_follows_the_recipients_rules(alice, target, run_queue, notify, client):
    from tests.functional.notify.test_recipients import _confirm_link_of, _form_post

    shop = alice.shop(target.url, FAILING)
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [{"id": "m", "type": "email", "target": "qa@example.org"}]})
    notify.deliver(rounds=2)  # asked once, when the channel was saved
    first = alice.post(f"/projects/{pid}/runs").body["report_id"]
    notify.deliver(rounds=3)
    assert alice.get(f"/reports/{first}").body["alerts"][0]["outcome"] == "pending_confirmation"
    assert _form_post(client, CONFIRM_PATH, _confirm_link_of(notify, "qa@example.org")).status_code == 200
    second = alice.post(f"/projects/{pid}/runs").body["report_id"]
    notify.deliver(rounds=3)
    assert alice.get(f"/reports/{second}").body["alerts"][0]["outcome"] == "queued"
    subjects = [m["Subject"] for m in notify.smtp.messages if m["To"] == "qa@example.org"]
    assert len(subjects) == 2 and "FAILED" in subjects[1]  # the request, then the alert
