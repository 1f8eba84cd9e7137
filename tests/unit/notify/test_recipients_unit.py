"""Recipient link tokens and the inert rendering of user text (no I/O)."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import ValidationFailed
from chalicelib.notify.messages import MAX_NAME_CHARS, headline, inert
from chalicelib.notify.recipients import (
    CONFIRM,
    TOKEN_CHARS,
    UNSUBSCRIBE,
    confirmation_message,
    make_token,
    read_token,
    recipient_id,
    unsubscribe_headers,
)

PROJECT = "a" * 32


def test_a_token_round_trips_for_its_action_only():
    rid = recipient_id("email", "x@example.org")
    token = make_token(CONFIRM, PROJECT, rid)
    assert len(token) == TOKEN_CHARS and "example" not in token
    assert read_token(CONFIRM, token) == (PROJECT, rid)
    with pytest.raises(ValidationFailed) as refused:
        read_token(UNSUBSCRIBE, token)
    assert "token" in refused.value.fields


@pytest.mark.parametrize("bad", [None, 12, "", "x" * TOKEN_CHARS, "a" * 10_000,
                                 f"{PROJECT}.{'b' * 32}.{'c' * 32}", "\u0661" * TOKEN_CHARS])
def test_anything_else_is_a_400_naming_the_token(bad):
    with pytest.raises(ValidationFailed) as refused:
        read_token(CONFIRM, bad)
    assert refused.value.fields == {"token": "not a link this service sent"}


def test_recipient_ids_differ_by_channel_and_address():
    assert recipient_id("email", "a@b.co") != recipient_id("sms", "a@b.co") != recipient_id("email", "b@b.co")


def test_inert_strips_controls_and_bidi_and_bounds_length():
    assert inert("a\r\nBcc: x\u202eexe\u200b\x00", 100) == "a Bcc: x exe"
    assert len(inert("y" * 10_000, MAX_NAME_CHARS)) == MAX_NAME_CHARS
    assert inert("y" * 10_000, 10).endswith("…")


def test_a_headline_shows_a_bounded_name():
    class Report:
        name, status, successes, tests_run = "n" * 500, "failed", 0, 1

    assert len(headline(Report(), False)) < MAX_NAME_CHARS + 30


def test_the_confirmation_request_is_our_text_and_links_only():
    email = confirmation_message("email", "https://h/c", "https://h/u")
    assert email["headers"] == unsubscribe_headers("https://h/u")
    assert "https://h/c" in email["body"] and "https://h/u" in email["body"]
    assert set(confirmation_message("sms", "https://h/c", "https://h/u")) == {"body"}
    assert unsubscribe_headers(None) == {}
