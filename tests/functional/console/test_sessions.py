"""Browser sessions: the login cookies, the cookie accepted beside Bearer, CSRF, logout."""
import json

import pytest

from chalicelib.core.auth import csrf_token_for

PASSWORD = "correct horse battery"


@pytest.fixture
def alice(make_user):
    return make_user("alice", email="alice@example.com", password=PASSWORD)


def login(client, remember=False, headers=None):
    return client.http.post("/auth/login", headers={"Content-Type": "application/json", **(headers or {})},
                            body=json.dumps({"account": "alice", "password": PASSWORD, "remember": remember}))


def cookies_of(response) -> dict[str, str]:
    """name -> the whole Set-Cookie value."""
    values = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
    values = values if isinstance(values, list) else [values]
    return {value.split("=", 1)[0]: value for value in values}


def attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=", 1)[0] for part in set_cookie.split(";")[1:]}


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def session_headers(response, *, csrf: bool = True) -> dict:
    cookies = cookies_of(response)
    session, token = cookie_value(cookies["hat_session"]), cookie_value(cookies["hat_csrf"])
    headers = {"Cookie": f"other=1; hat_session={session}; hat_csrf={token}",
               "Content-Type": "application/json"}
    if csrf:
        headers["X-Hat-CSRF"] = token
    return headers


def test_login_sets_an_httponly_strict_session_cookie_and_a_readable_csrf_cookie(client, alice):
    response = login(client)
    assert response.status_code == 200
    cookies = cookies_of(response)
    session, csrf = cookies["hat_session"], cookies["hat_csrf"]
    assert cookie_value(session) == json.loads(response.body)["token"]
    assert {"Path", "SameSite", "HttpOnly"} <= attributes(session)
    assert "SameSite=Strict" in session and "Path=/" in session
    assert "HttpOnly" not in attributes(csrf) and "SameSite=Strict" in csrf
    assert cookie_value(csrf) == csrf_token_for(cookie_value(session))
    # Not remembered: a browser-session cookie (no Max-Age, no Expires); http: not Secure.
    assert not {"Max-Age", "Expires", "Secure"} & (attributes(session) | attributes(csrf))


def test_remember_keeps_both_cookies_for_14_days(client, alice):
    cookies = cookies_of(login(client, remember=True))
    for value in cookies.values():
        assert f"Max-Age={14 * 24 * 3600}" in value


def test_cookies_are_secure_when_the_public_url_is_https(client, alice, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_PUBLIC_URL", "https://hat.example.com/api")
    reset_settings()
    for value in cookies_of(login(client)).values():
        assert "Secure" in attributes(value)


def test_cookies_are_secure_when_the_request_came_over_https(client, alice):
    response = login(client, headers={"X-Forwarded-Proto": "https"})  # API Gateway's header
    for value in cookies_of(response).values():
        assert "Secure" in attributes(value)
    headers = {**session_headers(response), "X-Forwarded-Proto": "https"}
    logout = client.http.post("/auth/logout", headers=headers)
    for value in cookies_of(logout).values():
        assert "Secure" in attributes(value)


def test_the_cookie_authenticates_reads_without_csrf(client, alice):
    headers = session_headers(login(client), csrf=False)
    response = client.http.get("/auth/me", headers=headers)
    assert response.status_code == 200
    assert json.loads(response.body)["username"] == "alice"


@pytest.mark.parametrize("csrf", [None, "", "forged", "the-cookie-of-someone-else"])
def test_an_unsafe_cookie_request_without_the_right_csrf_header_is_refused(client, alice, csrf):
    headers = session_headers(login(client), csrf=False)
    if csrf is not None:
        headers["X-Hat-CSRF"] = csrf
    response = client.http.post("/projects", headers=headers, body=json.dumps({"name": "nope"}))
    assert response.status_code == 403
    assert json.loads(response.body)["error"]["code"] == "csrf_failed"
    listed = client.http.get("/projects", headers=headers)
    assert json.loads(listed.body)["items"] == []  # nothing was written


def test_a_planted_csrf_cookie_matching_the_header_is_still_refused(client, alice):
    headers = session_headers(login(client), csrf=False)
    headers["Cookie"] = headers["Cookie"].rsplit("hat_csrf=", 1)[0] + "hat_csrf=planted"
    headers["X-Hat-CSRF"] = "planted"
    response = client.http.post("/projects", headers=headers, body=json.dumps({"name": "nope"}))
    assert response.status_code == 403


def test_an_unsafe_cookie_request_with_the_csrf_header_works(client, alice):
    headers = session_headers(login(client))
    response = client.http.post("/projects", headers=headers, body=json.dumps({"name": "yes"}))
    assert response.status_code == 201


def test_bearer_requests_need_no_csrf_even_with_a_cookie_beside(client, alice):
    headers = {**session_headers(login(client), csrf=False), "Authorization": f"Bearer {alice.token}"}
    response = client.http.post("/projects", headers=headers, body=json.dumps({"name": "bearer"}))
    assert response.status_code == 201


def test_a_bad_cookie_is_401_like_a_bad_token(client, alice):
    response = client.http.get("/auth/me", headers={"Cookie": "hat_session=not-a-session"})
    assert response.status_code == 401


def test_logout_by_cookie_clears_both_cookies_and_ends_the_session(client, alice):
    headers = session_headers(login(client))
    response = client.http.post("/auth/logout", headers=headers)
    assert response.status_code == 204
    cleared = cookies_of(response)
    assert set(cleared) == {"hat_session", "hat_csrf"}
    for value in cleared.values():
        assert cookie_value(value) == "" and "Max-Age=0" in value and "Path=/" in value
    assert client.http.get("/auth/me", headers=headers).status_code == 401


def test_logout_by_cookie_needs_the_csrf_header(client, alice):
    headers = session_headers(login(client), csrf=False)
    assert client.http.post("/auth/logout", headers=headers).status_code == 403
    assert client.http.get("/auth/me", headers=headers).status_code == 200
