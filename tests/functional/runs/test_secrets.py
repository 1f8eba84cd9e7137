"""Environments' secrets (issue 20, item 5): write-only in the API, sealed at rest under a KMS
data key, opened only in the worker (and the inline debug run), and masked everywhere a run
could echo them: the S3 detail, the DynamoDB summary, JUnit, chat messages, email, the
callback and log lines. The run sends the secret in a header, a query and a body, the target
echoes all three back, and the run extracts it again; every output is searched for the plain
value (and its URL-encoded spellings)."""
from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from chalicelib.core.logs import JsonFormatter
from tests.functional.notify.chat_stand_in import ChatStandIn

SECRET = "s3cr3t+Tok/en=value"
SPELLINGS = (SECRET, quote(SECRET), quote(SECRET, safe=""), quote_plus(SECRET))

ECHO_CASE = {
    "config": {"name": "echo"},
    "teststeps": [
        {"name": "send it three ways",
         "request": {"method": "POST", "url": "/echo", "params": {"key": "$token"},
                     "headers": {"Authorization": "Bearer $token", "X-Token": "$token"},
                     "json": {"token": "$token", "note": "x $token y"}},
         "extract": {"echoed": "body.json.token"},
         "validate": [{"eq": ["body.headers.x-token", "$token"]}, {"eq": ["body.json.token", "$token"]}]},
        {"name": "send it back",
         "request": {"method": "GET", "url": "/echo", "params": {"again": "$echoed"}},
         "validate": [{"eq": ["body.query.again", "$token"]},
                      {"eq": ["body.query.again", "wrong"]}]},  # fails: the actual is the secret
    ],
}


@pytest.fixture
def chat():
    stand_in = ChatStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def json_log():
    """Every log line as the deployed functions write it (core/logs.py's formatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def _plain_in(text: str) -> list[str]:
    return [s for s in SPELLINGS if s in text]


def test_a_secret_never_leaves_the_worker(alice, target, run_queue, notify, chat, aws, json_log):
    project = alice.project("vault", environments={"default": {
        "base_url": target.url, "variables": {"user": "ann"}, "secrets": {"token": SECRET}}},
        callback_url=f"{target.url}/hook",
        notify={"emails": [alice.user["email"]], "when": "always"},
        alerts=[{"id": "slack", "type": "slack", "target": f"{chat.url}/slack"},
                {"id": "hook", "type": "webhook", "target": f"{chat.url}/hook"}])
    pid = project["id"]
    assert project["environments"]["default"]["secrets"] == ["token"]
    module = alice.module(pid, "m")
    assert alice.post(f"/modules/{module['id']}/testcases", {"testcase": ECHO_CASE}).status == 201

    # write-only: names in every answer, the value in none; sealed in DynamoDB
    shown = alice.get(f"/projects/{pid}").body
    assert shown["environments"]["default"] == {"base_url": target.url, "variables": {"user": "ann"},
                                                "secrets": ["token"]}
    stored = aws("dynamodb").get_item(TableName="hat-dev-projects", Key={"id": {"S": pid}})["Item"]
    assert not _plain_in(json.dumps(stored)) and "secrets_key" in stored

    report_id = alice.post(f"/projects/{pid}/runs").body["report_id"]
    run_queue()
    notify.deliver(rounds=3)

    # the target did get the plain value three ways, and the second request the extracted one
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed", report
    from chalicelib.runs import store
    detail = store.get_detail(store.detail_key(report_id))
    steps = detail["testcases"][0]["steps"]
    assert [s["success"] for s in steps] == [True, False], steps
    assert _plain_in(target.hits[-1])  # the target got it

    outputs = {
        "detail (S3)": json.dumps(detail),
        "summary (DynamoDB)": json.dumps(aws("dynamodb").get_item(
            TableName="hat-dev-reports", Key={"id": {"S": report_id}})["Item"]),
        "report answer": json.dumps(report),
        "detail answer": json.dumps(alice.get(f"/reports/{report_id}/detail").body),
        "junit": alice.client.http.get(f"/reports/{report_id}/junit",
                                       headers=alice.who.headers).body.decode(),
        "callback": json.dumps([r["body"].decode() for r in target.received]),
        "chat": json.dumps([r.raw.decode() for r in chat.received]),
        "email": json.dumps([str(m) for m in notify.smtp.messages]),
        "log": json_log.getvalue(),
    }
    assert target.received and chat.received and notify.smtp.messages, "every channel got its message"
    leaks = {where: _plain_in(text) for where, text in outputs.items() if _plain_in(text)}
    assert leaks == {}, leaks
    assert "***" in outputs["detail (S3)"] and "***" in outputs["chat"]


def test_secrets_are_write_only_set_kept_and_removed(alice, target):
    env = {"base_url": target.url, "secrets": {"token": SECRET, "other": "another-one"}}
    pid = alice.project("keep", environments={"default": env})["id"]
    # a PATCH that names no secret keeps them; null removes one; a value replaces one
    kept = alice.patch(f"/projects/{pid}", {"environments": {"default": {"base_url": target.url}}})
    assert kept.status == 200 and kept.body["environments"]["default"]["secrets"] == ["other", "token"]
    removed = alice.patch(f"/projects/{pid}", {"environments": {"default": {
        "base_url": target.url, "secrets": {"other": None, "token": "a-new-value"}}}})
    assert removed.body["environments"]["default"]["secrets"] == ["token"]
    gone = alice.patch(f"/projects/{pid}", {"environments": {"default": {"secrets": {"token": None}}}})
    assert "secrets" not in gone.body["environments"]["default"], gone.body
    assert "a-new-value" not in json.dumps(removed.body) and SECRET not in json.dumps(removed.body)


@pytest.mark.parametrize(("secrets", "field"), [
    ({"token": "abc"}, "secrets"),  # too short to mask
    ({"bad name": "long-enough"}, "secrets"),
    ({"token": 5}, "secrets"),
])
def test_bad_secrets_are_400s_naming_the_field(alice, secrets, field):
    answer = alice.post("/projects", {"name": "bad", "environments": {"default": {"secrets": secrets}}})
    assert answer.status == 400, answer.body
    assert any(field in name for name in answer.body["error"]["fields"]), answer.body


def test_a_name_both_variable_and_secret_is_a_400(alice):
    answer = alice.post("/projects", {"name": "both", "environments": {"default": {
        "variables": {"token": "x"}, "secrets": {"token": "long-enough"}}}})
    assert answer.status == 400 and "environments" in json.dumps(answer.body["error"]["fields"]), answer.body


def test_the_debug_route_substitutes_and_masks(alice, target):
    pid = alice.project("dbg", environments={"default": {"base_url": target.url,
                                                         "secrets": {"token": SECRET}}})["id"]
    answer = alice.post("/testcases/debug", {"project_id": pid, "testcase": ECHO_CASE})
    assert answer.status == 200, answer.body
    assert [s["success"] for s in answer.body["testcases"][0]["steps"]] == [True, False]
    assert _plain_in(target.hits[-1])  # the target got it
    assert not _plain_in(json.dumps(answer.body)), json.dumps(answer.body)[:2000]


def test_two_first_secrets_at_once_keep_one_data_key(alice, target, monkeypatch):
    """A PATCH whose data key another request replaced meanwhile is a 409, not boxes that
    would never open."""
    from chalicelib.catalog import secrets
    from chalicelib.catalog.models import Project

    pid = alice.project("race", environments={"default": {"base_url": target.url}})["id"]
    made = secrets.sealing.new_data_key

    def racing(context):
        plain, stored = made(context)
        _other_plain, other = made(context)  # the other request's key lands first
        Project(pid).update(actions=[Project.secrets_key.set(other)])
        return plain, stored

    monkeypatch.setattr(secrets.sealing, "new_data_key", racing)
    answer = alice.patch(f"/projects/{pid}", {"environments": {"default": {
        "base_url": target.url, "secrets": {"token": SECRET}}}})
    assert answer.status == 409 and answer.body["error"]["code"] == "concurrent_change", answer.body
    monkeypatch.setattr(secrets.sealing, "new_data_key", made)
    again = alice.patch(f"/projects/{pid}", {"environments": {"default": {
        "base_url": target.url, "secrets": {"token": SECRET}}}})
    assert again.status == 200 and again.body["environments"]["default"]["secrets"] == ["token"]
