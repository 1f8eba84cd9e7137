import json
import logging

import pytest

from chalicelib.core.logs import JsonFormatter, log_context, redact, redact_text


def format_line(message, *args, **extra):
    record = logging.LogRecord("hat.test", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter().format(record))


def test_a_line_is_json_with_level_logger_and_context():
    with log_context(request_id="req-1"):
        with log_context(job_id="job-9"):
            line = format_line("sent %d", 3)
    assert line["message"] == "sent 3"
    assert line["level"] == "INFO"
    assert line["logger"] == "hat.test"
    assert line["request_id"] == "req-1" and line["job_id"] == "job-9"
    assert "request_id" not in format_line("outside")


@pytest.mark.parametrize("text", [
    "Authorization: Bearer abcDEF123._-xyz",
    'body={"password": "hunter22!", "username": "alice"}',
    "your code is 483920",
    "token=0123abcd",
    "X-Hat-Signature: sha256=deadbeef",
])
def test_secrets_never_reach_a_line(text):
    line = json.dumps(format_line(text))
    for secret in ("abcDEF123", "hunter22!", "483920", "0123abcd", "deadbeef"):
        assert secret not in line


def test_extra_fields_named_like_secrets_are_masked_but_others_kept():
    line = format_line("login", token="t0k3n", user_id="u-1", code="123456")
    assert line["token"] == "***" and line["code"] == "***"
    assert line["user_id"] == "u-1"


def test_redact_walks_nested_values():
    assert redact({"a": [{"password": "x"}, "Bearer zzz"]}) == {"a": [{"password": "***"}, "Bearer ***"]}
    assert redact_text("nothing secret here") == "nothing secret here"
