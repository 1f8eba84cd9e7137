"""The front door against the local stack as `make dev` runs it: real HTTP, queue, worker, sinks."""
import os
import re
import time

PASSWORD = "a long and unusual secret"


def wait_for_code(stack, http, destination: str, timeout: float = 15) -> str:
    """The code the stack's worker sent to `destination`, read from the local outbox."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = http.get(f"{stack.url}/_local/outbox", timeout=5).json()["items"]
        codes = [re.search(r"\b(\d{6})\b", item["body"]) for item in items if item["to"] == destination]
        codes = [match.group(1) for match in codes if match]
        if codes:
            return codes[-1]
        time.sleep(0.2)
    raise AssertionError(f"no code for {destination} in the outbox")


def test_code_register_login_me_logout(stack, http):
    marker = os.urandom(3).hex()
    email, username = f"e2e-{marker}@example.com", f"e2e_{marker}"
    asked = http.post(f"{stack.url}/auth/codes", timeout=5,
                      json={"channel": "email", "destination": email, "purpose": "register"})
    assert asked.status_code == 202, asked.text
    code = wait_for_code(stack, http, email)

    registered = http.post(f"{stack.url}/auth/register", timeout=10, json={
        "username": username, "password": PASSWORD, "email": email, "code": code})
    assert registered.status_code == 201, registered.text
    assert registered.json()["username"] == username

    logged_in = http.post(f"{stack.url}/auth/login", timeout=10,
                          json={"account": email, "password": PASSWORD, "remember": True})
    assert logged_in.status_code == 200, logged_in.text
    token = logged_in.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    me = http.get(f"{stack.url}/auth/me", headers=headers, timeout=5)
    assert me.status_code == 200 and me.json()["email"] == email

    assert http.post(f"{stack.url}/auth/logout", headers=headers, timeout=5).status_code == 204
    rejected = http.get(f"{stack.url}/auth/me", headers=headers, timeout=5)
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "unauthorized"


def test_an_sms_code_goes_through_the_real_twilio_client(stack, http):
    mobile = "+861380013" + str(int.from_bytes(os.urandom(2), "big") % 10000).zfill(4)
    asked = http.post(f"{stack.url}/auth/codes", timeout=5,
                      json={"channel": "sms", "destination": mobile, "purpose": "register"})
    assert asked.status_code == 202, asked.text
    assert re.fullmatch(r"\d{6}", wait_for_code(stack, http, mobile))
    again = http.post(f"{stack.url}/auth/codes", timeout=5,
                      json={"channel": "sms", "destination": mobile, "purpose": "register"})
    assert again.status_code == 429 and 0 < int(again.headers["Retry-After"]) <= 60
