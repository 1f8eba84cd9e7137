"""No open relay (issue 14, items 7 and 8): a report reaches members and outside addresses
that confirmed, once asked; every email can unsubscribe; daily limits; removal ends
delivery. Everything goes through the real SMTP server (aiosmtpd) and the real Twilio
client against its stand-in; the links are followed through the API as a recipient would."""
from __future__ import annotations

import pytest

from chalicelib.notify.recipients import CONFIRM_PATH, UNSUBSCRIBE_PATH
from tests.functional.conftest import token_in
from tests.functional.runs.conftest import case

FAILING = [case("checkout", status=500)]
SPAM_NAME = "WIN A PRIZE visit spam.example now"


def _form_post(client, path: str, token: str, body: bytes = b""):
    return client.http.post(f"{path}?token={token}", body=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})


def _mails_to(notify, address: str) -> list:
    return [m for m in notify.smtp.messages if m["To"] == address]


def _body(message) -> str:
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    return part.get_content()


def _confirm_link_of(notify, address: str) -> str:
    mails = [m for m in _mails_to(notify, address) if "confirm" in m["Subject"].lower()
             or "test alerts" in m["Subject"]]
    assert len(mails) == 1, [m["Subject"] for m in _mails_to(notify, address)]
    return token_in(_body(mails[0]), CONFIRM_PATH)


def _run(api, project_id: str, notify, body: dict | None = None) -> dict:
    report_id = api.post(f"/projects/{project_id}/runs", body or {}).body["report_id"]
    notify.deliver(rounds=3)
    return api.get(f"/reports/{report_id}").body


def test_an_outside_address_gets_one_request_with_no_user_text_then_only_what_it_confirmed(
        alice, target, notify, client):
    shop = alice.shop(target.url, FAILING, name=SPAM_NAME)
    pid = shop["project"]["id"]
    ask = {"notify": {"emails": ["ext@example.org"], "mobiles": ["+8613800138999"], "when": "failure"}}

    report = _run(alice, pid, notify, ask)
    assert report["status"] == "failed"
    outcomes = {(n["channel"], n["outcome"]) for n in report["notifications"]}
    assert outcomes == {("email", "pending_confirmation"), ("sms", "pending_confirmation")}
    assert all(n["reason"] for n in report["notifications"])
    assert all("example.org" not in n["to"] or n["to"].startswith("e***@") for n in report["notifications"])
    # One request each, and nothing of the report: no project name, no test case name.
    mails = _mails_to(notify, "ext@example.org")
    assert len(mails) == 1 and "List-Unsubscribe" in mails[0]
    texts = [_body(mails[0]), mails[0]["Subject"]]
    texts += [i["body"] for i in notify.outbox if i["channel"] == "sms"]
    assert len([i for i in notify.outbox if i["to"] == "+8613800138999"]) == 1
    assert all("WIN A PRIZE" not in t and "checkout" not in t and "alice" not in t for t in texts)

    again = _run(alice, pid, notify, ask)  # named again: not asked again
    assert {n["outcome"] for n in again["notifications"]} == {"pending_confirmation"}
    assert len(_mails_to(notify, "ext@example.org")) == 1
    assert len([i for i in notify.outbox if i["to"] == "+8613800138999"]) == 1

    token = _confirm_link_of(notify, "ext@example.org")
    page = client.http.get(f"{CONFIRM_PATH}?token={token}")  # a scanner's GET confirms nothing
    assert page.status_code == 200 and b"<form" in page.body and b"WIN A PRIZE" in page.body
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    listed = alice.get(f"/projects/{pid}/recipients").body["items"]
    assert {(r["channel"], r["state"]) for r in listed} == {("email", "pending"), ("sms", "pending")}
    assert _form_post(client, CONFIRM_PATH, token).status_code == 200

    report = _run(alice, pid, notify, ask)
    by_channel = {n["channel"]: n["outcome"] for n in report["notifications"]}
    assert by_channel == {"email": "queued", "sms": "pending_confirmation"}
    alert = _mails_to(notify, "ext@example.org")[-1]
    assert "FAILED" in alert["Subject"]
    unsubscribe = alert["List-Unsubscribe"].strip("<>")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in _body(alert) and UNSUBSCRIBE_PATH in unsubscribe

    # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to the link.
    token = token_in(unsubscribe, UNSUBSCRIBE_PATH)
    assert _form_post(client, UNSUBSCRIBE_PATH, token, b"List-Unsubscribe=One-Click").status_code == 200
    sent = len(notify.smtp.messages)
    report = _run(alice, pid, notify, ask)
    assert {n["channel"]: n["outcome"] for n in report["notifications"]}["email"] == "unsubscribed"
    assert alice.patch(f"/projects/{pid}", {"notify": ask["notify"]}).status == 200  # never asked again
    notify.deliver(rounds=2)
    assert len(notify.smtp.messages) == sent


def test_links_are_signed_per_action_and_a_request_expires(alice, target, notify, client, monkeypatch):
    shop = alice.shop(target.url, FAILING)
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"notify": {"emails": ["late@example.org"], "when": "failure"}})
    notify.deliver(rounds=2)
    token = _confirm_link_of(notify, "late@example.org")

    for bad in ("", "x" * 98, token[:-1] + ("0" if token[-1] != "0" else "1"), token + "0", "é" * 98):
        answer = _form_post(client, CONFIRM_PATH, bad)
        assert answer.status_code == 400 and b'"token"' in answer.body, bad
    # A confirmation token cannot unsubscribe (each is bound to its action).
    assert _form_post(client, UNSUBSCRIBE_PATH, token).status_code == 400
    assert client.http.get(f"{UNSUBSCRIBE_PATH}?token={token}").status_code == 400

    from datetime import UTC, datetime, timedelta

    from chalicelib.notify.recipients import confirm

    later = datetime.now(UTC) + timedelta(days=31)
    with pytest.raises(Exception) as expired:
        confirm(token, clock=lambda: later)
    assert getattr(expired.value, "code", "") == "link_expired"
    assert alice.get(f"/projects/{pid}/recipients").body["items"][0]["state"] == "pending"


def test_confirmation_requests_are_limited_per_project_and_per_address(alice, bob, target, notify,
                                                                       monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_CONFIRMATIONS_PER_PROJECT_DAILY", "2")
    monkeypatch.setenv("HAT_CONFIRMATIONS_PER_ADDRESS_DAILY", "1")
    reset_settings()
    first = alice.project("first")["id"]
    alice.patch(f"/projects/{first}", {"notify": {"emails": ["a@example.org", "b@example.org",
                                                             "c@example.org"], "when": "always"}})
    notify.deliver(rounds=2)
    asked = sorted(m["To"] for m in notify.smtp.messages)
    assert asked == ["a@example.org", "b@example.org"]  # the project's 2 a day

    other = bob.project("other")["id"]  # another project (another user) names the same address
    bob.patch(f"/projects/{other}", {"notify": {"emails": ["a@example.org"], "when": "always"}})
    notify.deliver(rounds=2)
    assert sorted(m["To"] for m in notify.smtp.messages) == asked  # that address's 1 a day


def test_members_are_named_by_user_and_removal_ends_their_delivery(alice, bob, target, notify, monkeypatch):
    shop = alice.shop(target.url, FAILING)
    pid = shop["project"]["id"]
    assert alice.post(f"/projects/{pid}/members", {"username": "bobby"}).status == 201
    ask = {"notify": {"users": ["bobby", "nobody1"], "emails": ["alice@example.com"], "when": "failure"}}

    report = _run(alice, pid, notify, ask)
    outcomes = {(n["to"], n["outcome"]) for n in report["notifications"]}
    assert outcomes == {("a***@example.com", "queued"), ("bobby", "queued"), ("nobody1", "not_a_member")}
    assert sorted(m["To"] for m in notify.smtp.messages) == ["alice@example.com", "bobby@example.com"]
    assert all("confirm" not in m["Subject"].lower() for m in notify.smtp.messages)  # members: no request

    # A task bob set up with his own address and an outside one he had confirmed.
    task = bob.post("/tasks", {"name": "nightly", "project_id": pid, "crontab": "0 3 * * *",
                               "notify": {"emails": ["bobby@example.com", "bobs-ext@example.org"],
                                          "when": "failure"}})
    assert task.status == 201, task.body
    notify.deliver(rounds=2)
    token = _confirm_link_of(notify, "bobs-ext@example.org")
    assert _form_post(bob.client, CONFIRM_PATH, token).status_code == 200
    sent = len(notify.smtp.messages)
    run = alice.post(f"/tasks/{task.body['id']}/runs").body["report_id"]
    notify.deliver(rounds=3)
    assert sorted(m["To"] for m in notify.smtp.messages[sent:]) == ["bobby@example.com",
                                                                    "bobs-ext@example.org"]
    assert {n["outcome"] for n in alice.get(f"/reports/{run}").body["notifications"]} == {"queued"}

    assert alice.delete(f"/projects/{pid}/members", {"username": "bobby"}).status == 204
    sent = len(notify.smtp.messages)
    report = _run(alice, pid, notify, ask)
    assert {n["to"]: n["outcome"] for n in report["notifications"]}["bobby"] == "not_a_member"
    run = alice.post(f"/tasks/{task.body['id']}/runs").body["report_id"]  # the task stays (the project's)
    notify.deliver(rounds=3)
    outcomes = sorted(n["outcome"] for n in alice.get(f"/reports/{run}").body["notifications"])
    assert outcomes == ["not_confirmed", "owner_left"]
    assert [m["To"] for m in notify.smtp.messages[sent:]] == ["alice@example.com"]  # bob hears nothing
    listed = {r["address"]: r for r in alice.get(f"/projects/{pid}/recipients").body["items"]}
    assert listed["bobs-ext@example.org"]["owner_is_member"] is False

    # A current member names the confirmed address again: it is theirs, no new request.
    patched = alice.patch(f"/tasks/{task.body['id']}", {"notify": {"emails": ["bobs-ext@example.org"],
                                                                   "when": "failure"}})
    assert patched.status == 200, patched.body
    notify.deliver(rounds=2)
    sent = len(notify.smtp.messages)
    run = alice.post(f"/tasks/{task.body['id']}/runs").body["report_id"]
    notify.deliver(rounds=3)
    assert [m["To"] for m in notify.smtp.messages[sent:]] == ["bobs-ext@example.org"]


def test_a_projects_daily_message_limit_holds_back_the_rest_and_says_so(alice, bob, target, notify,
                                                                        monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_NOTIFY_DAILY_LIMIT", "3")
    reset_settings()
    shop = alice.shop(target.url, FAILING)
    pid = shop["project"]["id"]
    alice.post(f"/projects/{pid}/members", {"username": "bobby"})
    ask = {"notify": {"users": ["alice", "bobby"], "when": "failure"}}
    first = _run(alice, pid, notify, ask)
    assert [n["outcome"] for n in first["notifications"]] == ["queued", "queued"]
    second = _run(alice, pid, notify, ask)
    assert sorted(n["outcome"] for n in second["notifications"]) == ["daily_limit", "queued"]
    held = next(n for n in second["notifications"] if n["outcome"] == "daily_limit")
    assert "daily limit of 3 messages" in held["reason"]
    assert len(notify.smtp.messages) == 3


def test_user_text_in_a_message_is_bounded_and_inert(alice, target, notify):
    sneaky = "pay\u202etxt.exe\r\nBcc: victim@example.org " + "x" * 500
    shop = alice.shop(target.url, [{"config": {"name": "c"}, "teststeps": [
        {"name": sneaky, "request": {"method": "GET", "url": "/status/500"},
         "validate": [{"eq": ["status_code", 200]}]}]}])
    report = _run(alice, shop["project"]["id"], notify, {"notify": {"users": ["alice"], "when": "failure"}})
    assert report["notifications"][0]["outcome"] == "queued"
    mail = notify.smtp.messages[-1]
    text = _body(mail)
    assert "\u202e" not in text and "\r\nBcc" not in text and "Bcc" not in mail
    assert max(len(line) for line in text.splitlines()) < 400
