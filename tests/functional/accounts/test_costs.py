"""DynamoDB calls per accounts route (DESIGN: at most 4, whatever the data size)."""
import json

from .conftest import post
from .test_register import seed_code

PASSWORD = "correct horse battery"


def measure(calls: list[str], action, status: int | None = None) -> list[str]:
    calls.clear()
    response = action()
    assert response.status_code == status if status else response.status_code < 300, response.body
    return list(calls)


def test_calls_per_route(client, make_user, dynamodb_calls):
    alice = make_user("alice", email="alice@example.com", mobile="+8613800138000", password=PASSWORD)
    code_body = {"channel": "email", "destination": "bob@example.com", "purpose": "register"}
    # Read the destination's history and the IP's counter; write both (the IP's window starts).
    assert measure(dynamodb_calls, lambda: post(client, "/auth/codes", code_body)) == \
        ["BatchGetItem", "PutItem", "PutItem"]
    other = {**code_body, "destination": "dave@example.com"}
    assert measure(dynamodb_calls, lambda: post(client, "/auth/codes", other)) == \
        ["BatchGetItem", "PutItem", "UpdateItem"]

    seed_code("bob@example.com", "123456")
    register = {"username": "bobby", "password": PASSWORD, "email": "bob@example.com", "code": "123456"}
    assert measure(dynamodb_calls, lambda: post(client, "/auth/register", register)) == \
        ["UpdateItem", "TransactWriteItems"]

    seed_code("+8613900139000", "654321")
    with_mobile = {"username": "carol", "password": PASSWORD, "email": "carol@example.com",
                   "mobile": "+8613900139000", "code": "654321"}
    assert measure(dynamodb_calls, lambda: post(client, "/auth/register", with_mobile)) == \
        ["UpdateItem", "UpdateItem", "TransactWriteItems"]  # no email code: the mobile's is tried next

    login = {"account": "alice", "password": PASSWORD}
    assert measure(dynamodb_calls, lambda: post(client, "/auth/login", login)) == \
        ["GetItem", "BatchGetItem", "PutItem"]
    wrong = {"account": "alice", "password": "wrong password"}
    assert measure(dynamodb_calls, lambda: post(client, "/auth/login", wrong), status=401) == \
        ["GetItem", "BatchGetItem", "PutItem", "PutItem"]  # both failure counters start their windows
    assert measure(dynamodb_calls, lambda: post(client, "/auth/login", wrong), status=401) == \
        ["GetItem", "BatchGetItem", "UpdateItem", "UpdateItem"]
    assert measure(dynamodb_calls, lambda: post(client, "/auth/login", login)) == \
        ["GetItem", "BatchGetItem", "PutItem", "UpdateItem"]  # ...and a success forgets this client's

    headers = {"Authorization": f"Bearer {alice.token}"}
    assert measure(dynamodb_calls, lambda: client.http.get("/auth/me", headers=headers)) == ["GetItem"]
    # alice has 3 sessions now (make_user's and two logins'): all rewritten in one transaction
    assert measure(dynamodb_calls, lambda: client.http.patch(
        "/auth/me", headers={**headers, "Content-Type": "application/json"},
        body=json.dumps({"timezone": "Europe/Paris"}))) == ["GetItem", "Query", "TransactWriteItems"]
    assert measure(dynamodb_calls, lambda: client.http.post("/auth/logout", headers=headers)) == \
        ["GetItem", "DeleteItem"]

    seed_code(alice.user["id"], "111111", purpose="reset")
    reset = {"account": "alice", "code": "111111", "new_password": "a brand new secret"}
    # A wrong code for a real account with a live code, for one with no code, and for no
    # account at all: the same calls (a try, then the client's failure), so the same time.
    for account, code in (("alice", "999999"), ("bobby", "999999"), ("nobody", "111111")):
        wrong_code = {**reset, "account": account, "code": code}
        assert measure(dynamodb_calls, lambda: post(client, "/auth/password/reset", wrong_code),  # noqa: B023
                       status=400) == \
            ["BatchGetItem", "UpdateItem", "UpdateItem"]
    assert measure(dynamodb_calls, lambda: post(client, "/auth/password/reset", reset)) == \
        ["BatchGetItem", "UpdateItem", "Query", "TransactWriteItems"]  # sessions end in the transaction
    assert json.loads(post(client, "/auth/login", {**login, "password": "a brand new secret"}).body)["token"]
