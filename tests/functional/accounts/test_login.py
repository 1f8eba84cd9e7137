"""Login, throttling, logout, /auth/me, password reset, disabled users."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import error_of, post
from .test_register import seed_code

PASSWORD = "correct horse battery"


@pytest.fixture
def alice(make_user):
    return make_user("alice", email="alice@example.com", mobile="+8613800138000", password=PASSWORD)


def login(client, account="alice", password=PASSWORD, ip=None, **extra):
    return post(client, "/auth/login", {"account": account, "password": password, **extra}, ip=ip)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("account", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM",
                                     "+8613800138000"])
def test_login_by_username_email_or_mobile(client, alice, account):
    response = login(client, account)
    assert response.status_code == 200
    body = json.loads(response.body)
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"]["id"] == alice.user["id"]
    assert "password_hash" not in body["user"]


def test_remember_gives_14_days_else_12_hours(client, alice):
    now = datetime.now(UTC)
    short = datetime.fromisoformat(json.loads(login(client).body)["expires_at"].replace("Z", "+00:00"))
    long = datetime.fromisoformat(
        json.loads(login(client, remember=True).body)["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=11, minutes=59) < short - now <= timedelta(hours=12, seconds=1)
    assert timedelta(days=13, hours=23) < long - now <= timedelta(days=14, seconds=1)


def test_wrong_password_and_unknown_account_get_the_same_401(client, alice):
    wrong = login(client, password="not the password")
    unknown = login(client, account="nobody", password="not the password")
    too_long = login(client, password="x" * 100)  # over bcrypt's 72 bytes: just wrong, not a 500
    for response in (wrong, unknown, too_long):
        assert response.status_code == 401
    assert error_of(wrong) == error_of(unknown) == error_of(too_long)


def test_an_unknown_account_still_costs_a_bcrypt_check(client, aws, monkeypatch):
    import bcrypt

    checks = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(1) or real(*args))
    assert login(client, account="nobody@example.com").status_code == 401
    assert checks == [1]


@pytest.mark.parametrize("body, field", [
    ({"password": PASSWORD}, "account"),
    ({"account": "alice"}, "password"),
    ({"account": "", "password": PASSWORD}, "account"),
    ({"account": "alice", "password": PASSWORD, "remember": "perhaps"}, "remember"),
    ({"account": ["alice"], "password": PASSWORD}, "account"),
])
def test_bad_login_bodies_are_400s_naming_the_field(client, aws, body, field):
    response = post(client, "/auth/login", body)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_failures_slow_that_client_with_growing_delays_not_the_owner(client, alice, clock):
    """OWASP ASVS 5.0 V6.3: per account-and-client pair first, a delay rather than a lock."""
    attacker, owner = "203.0.113.7", "198.51.100.4"
    for _ in range(5):
        clock.advance(seconds=60)
        assert login(client, password="wrong password", ip=attacker).status_code == 401
    delayed = login(client, ip=attacker)  # even the right password, from that client
    assert delayed.status_code == 429
    assert error_of(delayed)["code"] == "too_many_attempts"
    assert delayed.headers["Retry-After"] == "30"  # set by the 5th failure
    assert login(client, ip=owner).status_code == 200  # the owner on their own client: at once
    for expected in ("60", "120", "240"):  # each failure past the limit doubles the delay
        clock.advance(seconds=int(delayed.headers["Retry-After"]))
        assert login(client, password="wrong password", ip=attacker).status_code == 401
        delayed = login(client, ip=attacker)
        assert (delayed.status_code, delayed.headers["Retry-After"]) == (429, expected)
    assert login(client, account="alice@example.com", ip=attacker).status_code == 429  # any of its names
    clock.advance(seconds=240)
    assert login(client, ip=attacker).status_code == 200  # and a success forgets the pair's failures
    assert login(client, password="wrong password", ip=attacker).status_code == 401


def test_the_account_slows_for_everyone_only_at_a_much_higher_count(client, alice, clock, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_LOGIN_MAX_FAILURES_PER_ACCOUNT", "12")
    reset_settings()
    for n in range(12):  # 4 each from 3 clients: no pair reaches its limit
        assert login(client, password="wrong password", ip=f"203.0.113.{n % 3}").status_code == 401
    everyone = login(client, ip="198.51.100.4")
    assert everyone.status_code == 429 and everyone.headers["Retry-After"] == "30"
    assert "this account" in error_of(everyone)["message"]
    clock.advance(seconds=30)
    assert login(client, ip="198.51.100.4").status_code == 200  # a delay, not a lock
    ghost = [login(client, account="ghost", password="wrong password", ip=f"203.0.113.{n % 3}")
             for n in range(12)]
    assert {r.status_code for r in ghost} == {401}
    assert login(client, account="ghost", ip="198.51.100.4").body == everyone.body  # the same answer


def test_a_success_clears_the_account_failures(client, alice):
    for _ in range(4):
        assert login(client, password="wrong password").status_code == 401
    assert login(client).status_code == 200
    for _ in range(4):
        assert login(client, password="wrong password").status_code == 401
    assert login(client).status_code == 200


def test_unknown_accounts_lock_the_same_way(client, aws):
    for _ in range(5):
        assert login(client, account="ghost", password="wrong password").status_code == 401
    assert login(client, account="ghost", password="wrong password").status_code == 429


def test_twenty_failures_from_one_ip_lock_that_ip(client, make_user, clock):
    for n in range(20):
        failed = login(client, account=f"user{n}", password="wrong password", ip="203.0.113.9")
        assert failed.status_code == 401
    make_user("carol", password=PASSWORD)
    assert login(client, account="carol", ip="203.0.113.9").status_code == 429
    assert login(client, account="carol", ip="198.51.100.2").status_code == 200
    clock.advance(minutes=15)
    assert login(client, account="carol", ip="203.0.113.9").status_code == 200


def test_disabled_users_cannot_log_in_and_lose_their_sessions(client, alice):
    from chalicelib.accounts.service import disable_user, enable_user

    session = json.loads(login(client).body)["token"]
    assert client.http.get("/auth/me", headers=bearer(session)).status_code == 200
    assert disable_user(alice.user["id"]) == 2  # make_user's session and this one
    assert client.http.get("/auth/me", headers=bearer(session)).status_code == 401
    refused = login(client)
    assert refused.status_code == 403 and error_of(refused)["code"] == "account_disabled"
    assert login(client, password="wrong password").status_code == 401  # no hint without the password
    enable_user(alice.user["id"])
    assert login(client).status_code == 200


def test_me_then_logout_kills_the_token_at_once(client, alice):
    token = json.loads(login(client).body)["token"]
    me = client.http.get("/auth/me", headers=bearer(token))
    assert me.status_code == 200 and json.loads(me.body)["username"] == "alice"
    out = client.http.post("/auth/logout", headers=bearer(token))
    assert out.status_code == 204 and out.body == b""
    assert client.http.get("/auth/me", headers=bearer(token)).status_code == 401
    assert client.http.post("/auth/logout", headers=bearer(token)).status_code == 401
    assert client.http.get("/auth/me", headers=alice.headers).status_code == 200  # other sessions live


def test_me_and_logout_need_a_token(client, aws):
    assert client.http.get("/auth/me").status_code == 401
    assert client.http.post("/auth/logout").status_code == 401


def test_sessions_expire(client, alice, clock):
    token = json.loads(login(client).body)["token"]
    clock.advance(hours=12, seconds=1)
    assert client.http.get("/auth/me", headers=bearer(token)).status_code == 401


def reset(client, account="alice", code="123456", new_password="a brand new secret", ip=None):
    return post(client, "/auth/password/reset",
                {"account": account, "code": code, "new_password": new_password}, ip=ip)


def test_password_reset_with_a_code_ends_every_session(client, notify, alice):
    other = json.loads(login(client, remember=True).body)["token"]
    assert post(client, "/auth/codes", {"channel": "sms", "destination": "+8613800138000",
                                        "purpose": "reset"}).status_code == 202
    code = notify.last_code("+8613800138000")
    response = reset(client, account="alice@example.com", code=code)  # any of the account's names
    assert response.status_code == 204
    for token in (alice.token, other):
        assert client.http.get("/auth/me", headers=bearer(token)).status_code == 401
    assert login(client).status_code == 401
    assert login(client, password="a brand new secret").status_code == 200
    assert reset(client, code=code).status_code == 400  # used


def test_a_reset_ends_more_sessions_than_one_transaction_holds(client, alice):
    from chalicelib.accounts.service import SESSIONS_PER_TRANSACTION
    from chalicelib.accounts.sessions import create_session, session_hashes
    from chalicelib.core.clock import utcnow

    tokens = [create_session(alice.user, clock=utcnow)[0] for _ in range(SESSIONS_PER_TRANSACTION + 5)]
    seed_code(alice.user["id"], "123456", purpose="reset")
    assert reset(client, code="999999").status_code == 400  # a wrong code ends nothing
    assert len(session_hashes(alice.user["id"])) == len(tokens) + 1
    assert reset(client).status_code == 204
    assert session_hashes(alice.user["id"]) == []
    assert all(client.http.get("/auth/me", headers=bearer(t)).status_code == 401
               for t in (tokens[0], tokens[-1], alice.token))


def test_reset_clears_a_login_lock(client, alice):
    for _ in range(5):
        login(client, password="wrong password")
    assert login(client).status_code == 429
    seed_code(alice.user["id"], "123456", purpose="reset")
    assert reset(client).status_code == 204
    assert login(client, password="a brand new secret").status_code == 200


def test_reset_refuses_wrong_expired_foreign_codes_alike(client, make_user, alice, clock):
    bob = make_user("bobby", email="bob@example.com")
    seed_code(bob.user["id"], "222222", purpose="reset")
    answers = [reset(client, code="222222"),  # bob's code
               reset(client, account="nobody", code="222222"),  # no such account
               reset(client, code="999999")]  # alice has no code at all
    seed_code(alice.user["id"], "333333", purpose="reset")
    clock.advance(minutes=6)
    answers.append(reset(client, code="333333"))  # expired
    assert {(a.status_code, json.dumps(error_of(a))) for a in answers} == \
        {(400, json.dumps(error_of(answers[0])))}
    assert login(client).status_code == 200  # nothing changed


def test_a_registration_code_cannot_reset(client, alice):
    seed_code("alice@example.com", "123456", purpose="register")
    assert reset(client, account="alice@example.com").status_code == 400


def test_reset_checks_the_new_password_like_registration(client, alice):
    for password, words in (("short", "at least 8"), ("password1", "common"), ("密码" * 13, "72")):
        response = reset(client, new_password=password)
        assert response.status_code == 400
        assert words in error_of(response)["fields"]["new_password"]


def test_a_profile_change_reaches_every_session_even_one_ending_meanwhile(client, alice, monkeypatch):
    from chalicelib.accounts.sessions import create_session, hash_token, revoke_token
    from chalicelib.core.clock import utcnow
    from tests.support import hook_dynamodb

    keep, leaving = create_session(alice.user, clock=utcnow)[0], create_session(alice.user, clock=utcnow)[0]
    commits = []

    def logout_first(model, **_kwargs) -> None:  # a logout lands between Query and commit
        if model.name == "TransactWriteItems":
            commits.append(model.name)
            if len(commits) == 1:
                revoke_token(leaving)

    unhook = hook_dynamodb(monkeypatch, logout_first)
    try:
        answer = client.http.patch("/auth/me", body=json.dumps({"timezone": "America/New_York"}),
                                   headers={**bearer(alice.token), "Content-Type": "application/json"})
    finally:
        unhook()
    assert len(commits) == 2  # the first was cancelled by the ended session, the second went through
    assert answer.status_code == 200 and json.loads(answer.body)["timezone"] == "America/New_York"
    for token in (alice.token, keep):
        assert json.loads(client.http.get("/auth/me", headers=bearer(token)).body)["timezone"] == \
            "America/New_York"
    assert client.http.get("/auth/me", headers=bearer(leaving)).status_code == 401  # not revived
    from chalicelib.accounts.models import Session

    assert Session.count(hash_token(leaving)) == 0


def test_reset_probes_from_one_client_cannot_use_up_the_owners_tries(client, alice, clock):
    seed_code(alice.user["id"], "123456", purpose="reset")
    attacker = "203.0.113.7"
    for guess in range(5):
        assert reset(client, code=f"00000{guess}", ip=attacker).status_code == 400
    throttled = reset(client, code="000009", ip=attacker)  # throttled before any try is spent
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "30"
    clock.advance(seconds=30)
    assert reset(client, code="123456", ip=attacker).status_code == 400  # its own 5 tries are gone
    assert reset(client, code="123456", ip="198.51.100.4").status_code == 204  # the owner's are not


def test_a_code_takes_a_bounded_number_of_tries_from_all_clients(client, alice, clock):
    seed_code(alice.user["id"], "123456", purpose="reset")
    for n in range(15):  # 5 from each of 3 clients: the code's 15 in all
        assert reset(client, code="000000", ip=f"203.0.113.{n % 3}").status_code == 400
    assert reset(client, code="123456", ip="198.51.100.4").status_code == 400


def test_reset_is_rate_limited_with_the_login_limits(client, make_user, alice):
    for n in range(20):  # one client, many accounts: login's per-client limit
        assert reset(client, account=f"user{n}", code="000000", ip="203.0.113.9").status_code == 400
    seed_code(alice.user["id"], "123456", purpose="reset")
    limited = reset(client, code="123456", ip="203.0.113.9")
    assert limited.status_code == 429 and error_of(limited)["code"] == "too_many_attempts"
    assert login(client, ip="203.0.113.9").status_code == 429  # the same count as sign-ins
    assert reset(client, code="123456", ip="198.51.100.4").status_code == 204


def test_reset_answers_alike_for_no_account_no_code_and_a_wrong_code(client, make_user, alice):
    make_user("bobby", email="bob@example.com")
    seed_code(alice.user["id"], "123456", purpose="reset")
    answers = [reset(client, account=account, code="999999", ip=f"203.0.113.{n}")
               for n, account in enumerate(("alice", "bobby", "nobody"))]
    assert len({(a.status_code, a.body) for a in answers}) == 1
    throttled = []
    for account in ("alice", "nobody"):
        for _ in range(5):
            reset(client, account=account, code="999999", ip="198.51.100.9")
        throttled.append(reset(client, account=account, code="999999", ip="198.51.100.9"))
    assert [a.status_code for a in throttled] == [429, 429] and throttled[0].body == throttled[1].body
