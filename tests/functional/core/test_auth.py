"""Access control: every route but the public ones needs a live token; IP lists first."""
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.errors import Conflict


def test_public_routes_need_no_token(client):
    assert client.http.get("/health").status_code == 200


def test_a_protected_route_without_or_with_a_bad_token_is_401(client, app):
    @app.route("/_probe/whoami")
    def whoami():
        from chalicelib.core.auth import current_user

        return current_user(app.current_request)

    try:
        missing = client.http.get("/_probe/whoami")
        bad = client.http.get("/_probe/whoami", headers={"Authorization": "Bearer nope"})
        basic = client.http.get("/_probe/whoami", headers={"Authorization": "Basic abc"})
        for response in (missing, bad, basic):
            assert response.status_code == 401
            assert json.loads(response.body)["error"]["code"] == "unauthorized"
    finally:
        app.routes.pop("/_probe/whoami")


def test_a_live_token_puts_the_user_on_the_request(client, app, make_user):
    alice = make_user("alice")

    @app.route("/_probe/whoami2")
    def whoami2():
        from chalicelib.core.auth import current_user

        return current_user(app.current_request)

    try:
        response = client.http.get("/_probe/whoami2", headers=alice.headers)
    finally:
        app.routes.pop("/_probe/whoami2")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["username"] == "alice"
    assert "password_hash" not in body


def test_expired_and_revoked_tokens_stop_working(aws, make_user):
    from chalicelib.accounts.sessions import create_session, revoke_all_sessions, revoke_token, user_for_token
    from chalicelib.core.clock import utcnow

    alice = make_user("alice")
    assert user_for_token(alice.token, clock=utcnow)["id"] == alice.user["id"]
    later = datetime.now(UTC) + timedelta(hours=12, seconds=1)
    assert user_for_token(alice.token, clock=lambda: later) is None
    remembered, expires = create_session(alice.user, remember=True, clock=utcnow)
    assert expires - datetime.now(UTC) > timedelta(days=13)
    revoke_token(alice.token)
    assert user_for_token(alice.token, clock=utcnow) is None
    assert user_for_token(remembered, clock=utcnow) is not None
    assert revoke_all_sessions(alice.user["id"]) == 1
    assert user_for_token(remembered, clock=utcnow) is None


def test_only_the_hash_of_a_token_is_stored(aws, make_user):
    alice = make_user("alice")
    items = aws("dynamodb").scan(TableName="hat-dev-sessions")["Items"]
    assert alice.token not in json.dumps(items)


def test_ip_deny_list_applies_before_anything(client, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_IP_DENY", "0.0.0.0/0")
    reset_settings()
    try:
        response = client.http.get("/health")
    finally:
        monkeypatch.delenv("HAT_IP_DENY")
        reset_settings()
    assert response.status_code == 403
    assert json.loads(response.body)["error"]["code"] == "ip_not_allowed"


@pytest.mark.parametrize("ip, allow, deny, expected", [
    ("10.1.2.3", [], [], True),
    ("10.1.2.3", ["10.0.0.0/8"], [], True),
    ("11.1.2.3", ["10.0.0.0/8"], [], False),
    ("10.1.2.3", ["10.0.0.0/8"], ["10.1.0.0/16"], False),
    ("::1", ["::1/128"], [], True),
])
def test_ip_rules(ip, allow, deny, expected):
    from chalicelib.core.auth import ip_permitted

    assert ip_permitted(ip, allow, deny) is expected


def test_racing_registrations_of_one_username_leave_exactly_one_winner(aws, make_user):
    from chalicelib.accounts.service import create_user
    from chalicelib.core.clock import utcnow

    make_user("seed")  # sets cheap bcrypt rounds
    results = []
    barrier = threading.Barrier(20)

    def register(n):
        barrier.wait()
        try:
            results.append(create_user("racer", f"r{n}@example.com", "long enough pw", clock=utcnow))
        except Conflict as error:
            results.append(error.fields)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if "id" in r]
    assert len(winners) == 1
    assert all(r == {"username": "already registered"} for r in results if "id" not in r)
    keys = aws("dynamodb").scan(TableName="hat-dev-account-keys")["Items"]
    assert sum(1 for k in keys if k["key"]["S"] == "username#racer") == 1
