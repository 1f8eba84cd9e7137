"""POST /auth/codes: validation, the per-destination and per-IP limits (racing too), what is stored."""
import json
import time

import pytest

from .conftest import error_of, post, race

EMAIL = {"channel": "email", "destination": "alice@example.com", "purpose": "register"}
SMS = {"channel": "sms", "destination": "+8613800138000", "purpose": "register"}


def queued(sqs, queue: str) -> list[dict]:
    url = sqs.get_queue_url(QueueName=f"hat-dev-{queue}")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                   WaitTimeSeconds=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_code_request_only_enqueues_and_answers_202(client, aws):
    response = post(client, "/auth/codes", EMAIL)
    assert response.status_code == 202
    assert json.loads(response.body) == {"expires_in": 300, "resend_after": 60}
    jobs = queued(aws("sqs"), "email")
    assert [(j["kind"], j["channel"], j["destination"], j["purpose"]) for j in jobs] == \
        [("verification_code", "email", "alice@example.com", "register")]
    assert "code" not in jobs[0]  # the plain code is drawn by the worker, never queued
    assert queued(aws("sqs"), "sms") == []


def test_the_worker_stores_only_an_hmac_with_a_five_minute_life(client, notify, aws):
    post(client, "/auth/codes", EMAIL)
    code = notify.last_code("alice@example.com")
    items = aws("dynamodb").scan(TableName="hat-dev-verification-codes")["Items"]
    assert len(items) == 1
    item = items[0]
    assert code not in json.dumps(item)
    assert item["key"]["S"] == "register#alice@example.com"
    assert len(item["code_hash"]["S"]) == 64
    created = int(item["expires_at"]["N"]) - 300
    assert abs(created - time.time()) < 60


@pytest.mark.parametrize("body, field", [
    ({"channel": "email", "destination": "not-an-email", "purpose": "register"}, "destination"),
    ({"channel": "email", "destination": "a@b", "purpose": "register"}, "destination"),
    ({"channel": "email", "destination": "a b@example.com", "purpose": "register"}, "destination"),
    ({"channel": "sms", "destination": "13800138000", "purpose": "register"}, "destination"),
    ({"channel": "sms", "destination": "+0123456789", "purpose": "register"}, "destination"),
    ({"channel": "sms", "destination": "+86138001380001234", "purpose": "register"}, "destination"),
    ({"channel": "sms", "destination": "alice@example.com", "purpose": "register"}, "destination"),
    ({"channel": "fax", "destination": "+8613800138000", "purpose": "register"}, "channel"),
    ({"channel": "sms", "destination": "+8613800138000", "purpose": "login"}, "purpose"),
    ({"channel": "sms", "purpose": "register"}, "destination"),
    ({"channel": "sms", "destination": 8613800138000, "purpose": "register"}, "destination"),
    ({**EMAIL, "extra": 1}, "extra"),
])
def test_bad_input_is_a_400_naming_the_field(client, aws, body, field):
    response = post(client, "/auth/codes", body)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_not_json_is_a_400(client, aws):
    response = client.http.post("/auth/codes", headers={"Content-Type": "application/json"}, body="{nope")
    assert response.status_code == 400


def test_resend_within_60_seconds_is_429_with_retry_after(client, aws, clock):
    assert post(client, "/auth/codes", EMAIL).status_code == 202
    clock.advance(seconds=20)
    again = post(client, "/auth/codes", EMAIL)
    assert again.status_code == 429
    assert again.headers["Retry-After"] == "40"
    assert error_of(again)["code"] == "too_many_codes"
    # Another purpose is the same destination: the limit is per destination.
    assert post(client, "/auth/codes", {**EMAIL, "purpose": "reset"}).status_code == 429
    clock.advance(seconds=40)
    assert post(client, "/auth/codes", EMAIL).status_code == 202


def test_at_most_five_per_ten_minutes_then_ten_per_day(client, aws, clock):
    for _ in range(5):
        assert post(client, "/auth/codes", SMS).status_code == 202
        clock.advance(seconds=61)
    sixth = post(client, "/auth/codes", SMS)
    assert sixth.status_code == 429
    # The first send (5 x 61 s ago) leaves the 10-minute window in 600 - 305 s.
    assert sixth.headers["Retry-After"] == str(600 - 5 * 61)
    clock.advance(seconds=600 - 5 * 61)
    for _ in range(5):
        assert post(client, "/auth/codes", SMS).status_code == 202
        clock.advance(seconds=121)
    clock.advance(minutes=10)
    daily = post(client, "/auth/codes", SMS)
    assert daily.status_code == 429
    assert "per day" in error_of(daily)["message"]
    clock.advance(hours=24)
    assert post(client, "/auth/codes", SMS).status_code == 202


def test_a_daily_cap_per_client_ip(client, aws, clock, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_CODE_DAILY_LIMIT_PER_IP", "3")
    reset_settings()
    for n in range(3):
        body = {**EMAIL, "destination": f"user{n}@example.com"}
        assert post(client, "/auth/codes", body, ip="203.0.113.7").status_code == 202
    refused = post(client, "/auth/codes", {**EMAIL, "destination": "user9@example.com"}, ip="203.0.113.7")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert post(client, "/auth/codes", {**EMAIL, "destination": "user9@example.com"},
                ip="198.51.100.1").status_code == 202
    clock.advance(hours=24, seconds=1)
    assert post(client, "/auth/codes", {**EMAIL, "destination": "user8@example.com"},
                ip="203.0.113.7").status_code == 202


def test_twenty_racing_requests_send_exactly_one_code(client, lambda_like, notify):
    responses = race(20, lambda _: post(client, "/auth/codes", SMS))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] + [429] * 19
    assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 429)
    assert notify.deliver() == 1
    assert [item["to"] for item in notify.outbox] == ["+8613800138000"]
    assert len(notify.twilio.requests) == 1


def test_the_answer_never_says_whether_an_account_exists(client, notify, make_user):
    make_user("alice", email="alice@example.com")
    answers = [post(client, "/auth/codes", {**EMAIL, "destination": address, "purpose": purpose})
               for address, purpose in [("alice@example.com", "reset"), ("nobody@example.com", "reset"),
                                        ("bob@example.com", "register")]]
    assert {(a.status_code, a.body) for a in answers} == {(202, answers[0].body)}
    notify.deliver()
    sent = {item["to"]: item for item in notify.outbox}
    assert "nobody@example.com" not in sent  # no account: nothing to reset, nothing sent
    assert "password reset code is" in sent["alice@example.com"]["body"]
    assert "verification code is" in sent["bob@example.com"]["body"]


def test_registering_an_address_that_has_an_account_sends_a_notice_not_a_code(client, notify, make_user):
    make_user("alice", email="alice@example.com")
    assert post(client, "/auth/codes", EMAIL).status_code == 202
    notify.deliver()
    notice, = notify.outbox
    assert "already has one" in notice["body"]
    assert notify.codes_to("alice@example.com") == []
