"""Pure rules of accounts and notify: passwords, addresses, send limits, codes, SMTP modes, endpoints."""
import pytest

from chalicelib.accounts.limits import SendRules, send_refusal
from chalicelib.accounts.passwords import common_passwords, password_problem

RULES = SendRules(resend_seconds=60, window_seconds=600, window_limit=5, daily_limit=10)


def test_the_common_password_list_is_a_few_thousand_long_passwords():
    passwords = common_passwords()
    assert 5000 < len(passwords) < 20000
    assert {"password", "12345678", "iloveyou", "qwertyuiop"} <= passwords
    assert all(len(p) >= 8 for p in passwords)


@pytest.mark.parametrize("password, problem", [
    ("seven77", "at least 8"),
    ("x" * 65, "at most 64"),
    ("é" * 37, "72"),
    ("PassWord", "common"),
    (" password1 ", "common"),
    ("correct horse battery", None),
    ("密码" * 12, None),  # 24 characters, exactly 72 bytes
    ("x" * 64, None),
    (" " * 8, "only whitespace"),
    ("\u3000\t \u00a0" * 3, "control characters"),  # a tab among them
    ("\u3000 \u00a0\u2003" * 3, "only whitespace"),  # ideographic, no-break and em spaces
    ("\x00" * 8, "control characters"),
    ("correct\x00horse", "control characters"),
    ("correct horse\n", "control characters"),
    ("correct\x7fhorse", "control characters"),
    ("correct\x85horse", "control characters"),  # C1 NEL
    ("  spaced out words  ", None),
])
def test_password_rules(password, problem):
    found = password_problem(password)
    assert (found is None) if problem is None else (problem in found)


def test_a_password_with_nul_never_verifies():
    """bcrypt reads up to the first NUL: "\0" * 8 would verify against "\0" and ""."""
    from chalicelib.accounts.passwords import check_password, hash_password

    stored = hash_password("\x00" * 8, rounds=4)  # as an account made before the rule could be
    assert not check_password("\x00", stored)  # ("" cannot be sent: a login needs 1 character)
    assert not check_password("\x00" * 8, stored)
    assert not check_password("secret\x00anything", hash_password("secret", rounds=4))


def test_check_password_refuses_over_72_bytes_without_raising(monkeypatch):
    from chalicelib.accounts.passwords import check_password, hash_password

    stored = hash_password("a" * 72, rounds=4)
    assert check_password("a" * 72, stored)
    assert not check_password("a" * 73, stored)  # bcrypt 5 would raise; we answer "wrong"
    monkeypatch.setenv("HAT_BCRYPT_ROUNDS", "4")
    from chalicelib.core.settings import reset_settings

    reset_settings()
    try:
        assert not check_password("anything", None)  # the dummy check
    finally:
        reset_settings()


@pytest.mark.parametrize("address, valid", [
    ("alice@example.com", True), ("Alice.B+tag@Mail.Example.co.uk", True), ("a_b-c@x-y.io", True),
    ("alice", False), ("alice@", False), ("@example.com", False), ("alice@localhost", False),
    ("al ice@example.com", False), ("alice..b@example.com", False), (".alice@example.com", False),
    ("alice@-example.com", False), ("alice@example.123", False), ("a@" + "b" * 250 + ".com", False),
    ("x" * 65 + "@example.com", False),
])
def test_email_addresses(address, valid):
    from pydantic_core import PydanticCustomError

    from chalicelib.accounts.schemas import valid_email

    if valid:
        assert valid_email(address) == address.lower()
    else:
        with pytest.raises(PydanticCustomError):
            valid_email(address)


@pytest.mark.parametrize("number, valid", [
    ("+8613800138000", True), ("+14155552671", True), ("+4420712345", True),
    ("8613800138000", False), ("+0861380013800", False), ("+86 138 0013 8000", False),
    ("+1234567890123456", False), ("+12345", False), ("+86138OO138000", False),
])
def test_e164_numbers(number, valid):
    from pydantic_core import PydanticCustomError

    from chalicelib.accounts.schemas import valid_mobile

    if valid:
        assert valid_mobile(number) == number
    else:
        with pytest.raises(PydanticCustomError):
            valid_mobile(number)


def test_a_first_send_is_allowed():
    assert send_refusal([], RULES, 1000.0) is None


def test_resend_waits_the_rest_of_the_minute():
    assert send_refusal([1000.0], RULES, 1030.0)[1] == 30
    assert send_refusal([1000.0], RULES, 1060.0) is None


def test_five_in_ten_minutes_then_wait_for_the_oldest_to_leave():
    sends = [0.0, 100.0, 200.0, 300.0, 400.0]
    message, wait = send_refusal(sends, RULES, 500.0)
    assert "5 codes per 10 minutes" in message and wait == 100
    assert send_refusal(sends, RULES, 600.0) is None


def test_ten_a_day_then_wait_for_the_oldest_of_the_day():
    sends = [float(n * 700) for n in range(10)]
    now = sends[-1] + 700
    message, wait = send_refusal(sends, RULES, now)
    assert "per day" in message and wait == 24 * 3600 - now
    assert send_refusal(sends[1:], RULES, now) is None


def test_sends_older_than_a_day_are_forgotten():
    assert send_refusal([float(n) for n in range(100)], RULES, 100 + 24 * 3600) is None


def test_a_code_hash_binds_purpose_destination_and_code():
    from chalicelib.accounts.codes import code_hash, new_code

    base = code_hash("register", "a@example.com", "123456")
    assert len(base) == 64 and "123456" not in base
    assert base != code_hash("reset", "a@example.com", "123456")
    assert base != code_hash("register", "b@example.com", "123456")
    assert base != code_hash("register", "a@example.com", "123457")
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150


@pytest.mark.parametrize("account, key", [
    ("Alice", "username#alice"), ("Alice@Example.com", "email#alice@example.com"),
    ("+8613800138000", "mobile#+8613800138000"), (" alice ", "username#alice"),
])
def test_login_names(account, key):
    from chalicelib.accounts.service import login_key

    assert login_key(account) == key


def test_masks():
    from chalicelib.notify.service import mask

    assert mask("+8613800138000") == "+86138****8000"
    assert mask("alice@example.com") == "a***@example.com"


def test_the_twilio_http_client_only_changes_the_base_url(monkeypatch):
    from twilio.http.http_client import TwilioHttpClient

    from chalicelib.notify.sms import endpoint_http_client_class

    seen = []
    monkeypatch.setattr(TwilioHttpClient, "request", lambda self, method, url, *a, **k: seen.append(url))
    client = endpoint_http_client_class()(base_url="http://127.0.0.1:9999/")
    client.request("POST", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json")
    client.request("GET", "https://messaging.twilio.com/v1/Services")
    endpoint_http_client_class()(base_url="").request("POST", "https://api.twilio.com/x")
    assert seen == ["http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json",
                    "https://messaging.twilio.com/v1/Services", "https://api.twilio.com/x"]


class FakeSMTP:
    instances: list = []

    def __init__(self, host, port, timeout=None, context=None):
        self.calls = [("connect", type(self).__name__, host, port, context is not None)]
        FakeSMTP.instances.append(self)

    def starttls(self, context=None):
        self.calls.append(("starttls", context is not None))

    def login(self, user, password):
        self.calls.append(("login", user, password))


class FakeSMTPSSL(FakeSMTP):
    pass


@pytest.mark.parametrize("security, port, expected", [
    ("ssl", 0, [("connect", "FakeSMTPSSL", "smtp.163.com", 465, True), ("login", "me@163.com", "pw")]),
    ("starttls", 0, [("connect", "FakeSMTP", "smtp.163.com", 587, False), ("starttls", True),
                     ("login", "me@163.com", "pw")]),
    ("none", 2525, [("connect", "FakeSMTP", "smtp.163.com", 2525, False), ("login", "me@163.com", "pw")]),
])
def test_smtp_security_modes(monkeypatch, security, port, expected):
    import smtplib

    from chalicelib.core.settings import load_settings
    from chalicelib.notify.email import smtp_connection

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", FakeSMTPSSL)
    settings = load_settings({"HAT_SMTP_HOST": "smtp.163.com", "HAT_SMTP_SECURITY": security,
                              "HAT_SMTP_PORT": str(port), "HAT_SMTP_USERNAME": "me@163.com",
                              "HAT_SMTP_PASSWORD": "pw"})
    assert smtp_connection(settings).calls == expected


def test_bad_email_settings_say_what_is_wrong():
    from chalicelib.core.settings import load_settings
    from chalicelib.notify.email import send_email, smtp_connection
    from chalicelib.notify.sms import NotConfigured

    with pytest.raises(NotConfigured, match="HAT_SMTP_SECURITY"):
        smtp_connection(load_settings({"HAT_SMTP_HOST": "h", "HAT_SMTP_SECURITY": "tls"}))
    with pytest.raises(NotConfigured, match="HAT_EMAIL_FROM"):
        send_email("a@b.com", "s", "b", settings=load_settings({}))
    with pytest.raises(NotConfigured, match="HAT_EMAIL_BACKEND"):
        send_email("a@b.com", "s", "b", settings=load_settings({"HAT_EMAIL_BACKEND": "pigeon",
                                                                 "HAT_EMAIL_FROM": "x@y.com"}))


def test_an_injected_twilio_client_gets_the_message():
    from types import SimpleNamespace

    from chalicelib.core.settings import load_settings
    from chalicelib.notify.sms import send_sms

    created = []
    fake = SimpleNamespace(messages=SimpleNamespace(
        create=lambda **kwargs: created.append(kwargs) or SimpleNamespace(sid="SM1", status="queued")))
    answer = send_sms("+8613800138000", "hi", status_callback="https://x/cb", client=fake,
                      settings=load_settings({"TWILIO_FROM_NUMBER": "+15005550006"}))
    assert created == [{"to": "+8613800138000", "from_": "+15005550006", "body": "hi",
                        "status_callback": "https://x/cb"}]
    assert answer == {"provider": "twilio", "provider_id": "SM1", "status": "queued"}


def test_secrets_stay_out_of_the_settings_repr():
    from chalicelib.core.settings import load_settings

    text = repr(load_settings({"TWILIO_AUTH_TOKEN": "tok-123", "HAT_SMTP_PASSWORD": "pw-456"}))
    assert "tok-123" not in text and "pw-456" not in text
