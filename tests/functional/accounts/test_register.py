"""POST /auth/register: a live code for the email (or mobile), field rules, uniqueness (racing too)."""
import json

import pytest

from .conftest import error_of, post, race

PASSWORD = "correct horse battery"


def ask_code(client, notify, destination: str, purpose: str = "register") -> str:
    channel = "sms" if destination.startswith("+") else "email"
    body = {"channel": channel, "destination": destination, "purpose": purpose}
    response = post(client, "/auth/codes", body)
    assert response.status_code == 202, response.body
    return notify.last_code(destination)


def seed_code(destination: str, code: str = "123456", purpose: str = "register") -> str:
    """A live code without going through a send (for tests about other rules)."""
    from chalicelib.accounts.codes import store_code
    from chalicelib.core.clock import utcnow

    channel = "sms" if destination.startswith("+") else "email"
    store_code(f"{purpose}#{destination}", channel, destination, purpose, code, utcnow())
    return code


def register(client, **fields):
    body = {"username": "alice", "password": PASSWORD, "email": "alice@example.com", **fields}
    return post(client, "/auth/register", body)


@pytest.fixture(autouse=True)
def cheap_bcrypt(monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_BCRYPT_ROUNDS", "4")
    reset_settings()


def test_register_with_the_code_sent_to_the_email(client, notify, aws):
    code = ask_code(client, notify, "alice@example.com")
    response = register(client, email="Alice@Example.com", code=code)
    assert response.status_code == 201
    user = json.loads(response.body)
    assert set(user) >= {"id", "username", "email", "mobile", "created_at"}
    assert user["email"] == "alice@example.com" and user["mobile"] is None
    assert "password_hash" not in user and "password" not in json.dumps(user)
    stored = aws("dynamodb").scan(TableName="hat-dev-users")["Items"][0]
    assert stored["password_hash"]["S"].startswith("$2b$")
    assert PASSWORD not in json.dumps(stored)


def test_a_code_works_once(client, aws):
    code = seed_code("alice@example.com")
    assert register(client, code=code).status_code == 201
    again = register(client, username="alice2", code=code)
    assert again.status_code == 400
    assert error_of(again)["fields"] == {"code": error_of(again)["message"]}


def test_five_wrong_tries_kill_the_code(client, aws):
    code = seed_code("alice@example.com", "123456")
    for _ in range(5):
        wrong = register(client, code="654321")
        assert wrong.status_code == 400 and error_of(wrong)["code"] == "invalid_code"
    assert register(client, code=code).status_code == 400


def test_the_right_code_on_the_fifth_try_still_works(client, aws):
    code = seed_code("alice@example.com", "123456")
    for _ in range(4):
        assert register(client, code="000000").status_code == 400
    assert register(client, code=code).status_code == 201


def test_an_expired_code_is_refused(client, notify, clock):
    code = ask_code(client, notify, "alice@example.com")
    clock.advance(seconds=301)
    assert register(client, code=code).status_code == 400


def test_a_code_still_live_at_four_minutes_fifty_nine(client, notify, clock):
    code = ask_code(client, notify, "alice@example.com")
    clock.advance(seconds=299)
    assert register(client, code=code).status_code == 201


def test_a_code_is_bound_to_its_destination_and_purpose(client, aws):
    seed_code("bob@example.com", "111111")
    assert register(client, code="111111").status_code == 400  # sent to bob, not alice
    seed_code("alice@example.com", "222222", purpose="reset")
    assert register(client, code="222222").status_code == 400  # a reset code


def test_a_newer_code_replaces_the_older_one(client, notify, clock):
    first = ask_code(client, notify, "alice@example.com")
    clock.advance(seconds=61)
    second = ask_code(client, notify, "alice@example.com")
    if first != second:
        assert register(client, code=first).status_code == 400
    assert register(client, code=second).status_code == 201


def test_register_with_the_code_sent_to_the_mobile(client, notify):
    code = ask_code(client, notify, "+8613800138000")
    response = register(client, mobile="+8613800138000", code=code)
    assert response.status_code == 201
    assert json.loads(response.body)["mobile"] == "+8613800138000"


def test_a_mobile_code_needs_that_mobile_in_the_body(client, aws):
    code = seed_code("+8613800138000")
    assert register(client, code=code).status_code == 400
    assert register(client, mobile="+8613800138001", code=code).status_code == 400


@pytest.mark.parametrize("fields, field", [
    ({"username": "abcd"}, "username"),
    ({"username": "a" * 21}, "username"),
    ({"username": "bad name"}, "username"),
    ({"username": "ali.ce"}, "username"),
    ({"password": "short7!"}, "password"),
    ({"password": "x" * 65}, "password"),
    ({"password": "é" * 37}, "password"),  # 37 characters, 74 bytes in UTF-8
    ({"password": "password123"}, "password"),
    ({"password": "Iloveyou1"}, "password"),
    ({"email": "alice"}, "email"),
    ({"email": "alice@localhost"}, "email"),
    ({"mobile": "0138001380"}, "mobile"),
    ({"code": "12345"}, "code"),
    ({"code": "abcdef"}, "code"),
    ({"code": None}, "code"),
    ({"role": "admin"}, "role"),
])
def test_bad_fields_are_a_400_naming_them(client, aws, fields, field):
    response = register(client, **{"code": "123456", **fields})
    assert response.status_code == 400
    assert field in error_of(response)["fields"], error_of(response)


def test_a_password_over_72_bytes_is_explained_not_truncated(client, aws):
    response = register(client, code="123456", password="密码" * 13)  # 26 characters, 78 bytes
    assert response.status_code == 400
    assert "72" in error_of(response)["fields"]["password"]
    assert aws("dynamodb").scan(TableName="hat-dev-users")["Items"] == []


@pytest.mark.parametrize("password, words", [
    ("\x00" * 8, "control characters"), (" " * 8, "only whitespace"), ("\t" * 8, "control characters"),
    ("correct\x00horse battery", "control characters"), ("\u3000" * 8, "only whitespace"),
])
def test_nul_control_characters_and_whitespace_only_passwords_are_400s(client, aws, password, words):
    code = seed_code("alice@example.com")
    response = register(client, code=code, password=password)
    assert response.status_code == 400
    assert words in error_of(response)["fields"]["password"]
    assert aws("dynamodb").scan(TableName="hat-dev-users")["Items"] == []


def test_a_password_of_exactly_72_bytes_is_fine(client, aws):
    code = seed_code("alice@example.com")
    assert register(client, code=code, password="密码" * 12).status_code == 201  # 72 bytes


def test_taken_username_email_or_mobile_is_409_and_keeps_the_code(client, make_user, aws):
    make_user("alice", email="alice@example.com", mobile="+8613800138000")
    code = seed_code("other@example.com")
    taken_name = register(client, email="other@example.com", code=code)
    assert taken_name.status_code == 409
    assert error_of(taken_name)["fields"] == {"username": "already registered"}
    taken_name_case = register(client, username="ALICE", email="other@example.com", code=code)
    assert taken_name_case.status_code == 409
    code = seed_code("alice@example.com")
    taken_email = register(client, username="alice2", code=code)
    assert error_of(taken_email)["fields"] == {"email": "already registered"}
    code = seed_code("+8613800138000")
    mobile = register(client, username="alice3", email="new@example.com", mobile="+8613800138000", code=code)
    assert error_of(mobile)["fields"] == {"mobile": "already registered"}
    # The failed registrations did not spend the code.
    code = seed_code("other@example.com")
    assert register(client, username="other", email="other@example.com", code=code).status_code == 201


def test_fifty_racing_registrations_of_one_name_one_201_the_rest_409(client, lambda_like, aws):
    for n in range(50):
        seed_code(f"racer{n}@example.com", f"{n:06d}")
    responses = race(50, lambda n: register(client, username="racer", email=f"racer{n}@example.com",
                                            code=f"{n:06d}"))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49
    assert all(error_of(r)["fields"] == {"username": "already registered"}
               for r in responses if r.status_code == 409)
    keys = [item["key"]["S"] for item in aws("dynamodb").scan(TableName="hat-dev-account-keys")["Items"]]
    assert keys.count("username#racer") == 1
    assert len(aws("dynamodb").scan(TableName="hat-dev-users")["Items"]) == 1


def test_racing_uses_of_one_code_register_once(client, lambda_like, aws):
    code = seed_code("alice@example.com")
    responses = race(5, lambda n: register(client, username=f"alice{n}x", code=code))
    statuses = sorted(r.status_code for r in responses)
    # The losers find the code spent (400) or, if they got past it, the email taken (409).
    assert statuses[0] == 201 and all(status in (400, 409) for status in statuses[1:])
    assert aws("dynamodb").scan(TableName="hat-dev-verification-codes")["Items"] == []
