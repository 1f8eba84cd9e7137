import pytest

from chalicelib.core import pagination
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.settings import load_settings


def test_cursor_round_trips_and_none_means_last_page():
    key = {"project_id": {"S": "p1"}, "created": {"S": "2026-11-22T08:00:00Z"}}
    cursor = pagination.encode_cursor(key)
    assert pagination.decode_cursor(cursor) == key
    assert pagination.encode_cursor(None) is None
    assert pagination.page([1, 2], None) == {"items": [1, 2], "next_cursor": None}


def test_a_forged_cursor_is_a_400_naming_cursor():
    cursor = pagination.encode_cursor({"id": {"S": "mine"}})
    payload, _, signature = cursor.partition(".")
    forged = pagination.encode_cursor({"id": {"S": "theirs"}}).split(".")[0] + "." + signature
    for bad in (forged, payload, "garbage", payload + ".x"):
        with pytest.raises(ValidationFailed) as caught:
            pagination.decode_cursor(bad)
        assert "cursor" in caught.value.fields


@pytest.mark.parametrize("raw, expected", [(None, 20), ("", 20), ("1", 1), ("100", 100)])
def test_limit_defaults_and_bounds(raw, expected):
    assert pagination.parse_limit(raw) == expected


@pytest.mark.parametrize("raw", ["0", "101", "-1", "ten", "2.5"])
def test_bad_limits_are_named(raw):
    with pytest.raises(ValidationFailed) as caught:
        pagination.parse_limit(raw)
    assert "limit" in caught.value.fields


def test_settings_come_from_the_environment():
    settings = load_settings({"HAT_STAGE": "prod", "AWS_REGION": "eu-west-1",
                              "HAT_JOB_RETRY_DELAYS_SECONDS": "5, 30,120",
                              "HAT_OUTBOUND_ALLOW": "127.0.0.0/8, ::1/128"})
    assert settings.table_name("users") == "hat-prod-users"
    assert settings.queue_name("runs") == "hat-prod-runs"
    assert settings.region == "eu-west-1"
    assert settings.job_retry_delays_seconds == (5, 30, 120)
    assert settings.outbound_allow == ("127.0.0.0/8", "::1/128")
    assert settings.endpoint_url is None


def test_settings_defaults():
    settings = load_settings({})
    assert settings.stage == "dev"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.job_retry_delays_seconds == (5, 30)
