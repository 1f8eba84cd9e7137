"""Every line logged during the accounts flows, as written (JSON), holds no secret."""
import json
import logging

import pytest

from chalicelib.core.logs import JsonFormatter

from .conftest import post

PASSWORD = "correct horse battery"


class JsonLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)  # the level configure_logging() runs the app at
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def written_lines():
    handler = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_codes_tokens_and_passwords_never_reach_a_log_line(client, notify, clock, written_lines):
    email, mobile = "alice@example.com", "+15551230000"
    secrets = [PASSWORD]
    for destination, channel in ((email, "email"), (mobile, "sms")):
        response = post(client, "/auth/codes", {"channel": channel, "destination": destination,
                                                "purpose": "register"})
        assert response.status_code == 202
        secrets.append(notify.last_code(destination))
    response = post(client, "/auth/register", {"username": "alice", "password": PASSWORD, "email": email,
                                               "mobile": mobile, "code": secrets[1]})
    assert response.status_code == 201, response.body
    login = post(client, "/auth/login", {"account": "alice", "password": PASSWORD, "remember": True})
    token = json.loads(login.body)["token"]
    secrets.append(token)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.http.get("/auth/me", headers=auth).status_code == 200
    assert post(client, "/auth/login", {"account": "alice", "password": "wrong password!"}).status_code == 401
    clock.advance(seconds=61)  # one code per destination per minute
    response = post(client, "/auth/codes", {"channel": "email", "destination": email, "purpose": "reset"})
    assert response.status_code == 202
    reset_code = notify.last_code(email)
    secrets.append(reset_code)
    new_password = "a whole new passphrase"
    secrets.append(new_password)
    response = post(client, "/auth/password/reset", {"account": "alice", "code": reset_code,
                                                     "new_password": new_password})
    assert response.status_code == 204, response.body
    assert client.http.post("/auth/logout", headers=auth).status_code in (204, 401)

    assert len(written_lines) > 10  # the flows did log: requests, jobs, sends
    leaked = [(secret, line) for line in written_lines for secret in secrets if secret in line]
    assert leaked == []
