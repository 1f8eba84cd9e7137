"""The alert policy, driven by an injected clock, and the channels' sealing (no I/O)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.catalog.alert_channels import seal, unseal
from chalicelib.notify.alerts import due

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _due(channel: dict, status: str, *, previous: str | None = None, failures: int = 0,
         previous_failures: int = 0, last: datetime | None = None, now: datetime = NOW) -> bool:
    return due(channel, status=status, previous=previous, failures=failures,
               previous_failures=previous_failures, last_alert_at=last, now=now)


DEFAULT = {"when": ["failure", "recovery"], "after_failures": 1, "quiet_minutes": 0}


def test_failure_alerts_and_a_pass_after_it_is_a_recovery():
    assert _due(DEFAULT, "failed", failures=1)
    assert _due(DEFAULT, "error", failures=1)
    assert _due(DEFAULT, "passed", previous="failed", previous_failures=1)
    assert not _due(DEFAULT, "passed", previous="passed")
    assert not _due({**DEFAULT, "when": ["recovery"]}, "failed", failures=3)
    assert not _due({**DEFAULT, "when": ["failure"]}, "passed", previous="failed", previous_failures=1)


def test_never_and_always():
    assert not _due({**DEFAULT, "when": []}, "failed", failures=5)
    assert _due({**DEFAULT, "when": ["always"]}, "passed")


def test_after_n_consecutive_failures_and_recovery_only_from_an_alerting_streak():
    three = {**DEFAULT, "after_failures": 3}
    assert [_due(three, "failed", failures=n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert not _due(three, "passed", previous="failed", previous_failures=2)  # never alerted: no recovery
    assert _due(three, "passed", previous="failed", previous_failures=3)


def test_a_quiet_window_holds_repeats_of_a_streak_not_its_first_alert_nor_the_recovery():
    quiet = {**DEFAULT, "quiet_minutes": 30}
    last = NOW - timedelta(minutes=10)
    assert not _due(quiet, "failed", failures=5, last=last)
    assert _due(quiet, "failed", failures=5, last=NOW - timedelta(minutes=30))
    assert _due(quiet, "failed", failures=1, last=last)  # a new streak's first alert
    assert _due(quiet, "passed", previous="failed", previous_failures=5, last=last)


def test_degraded_is_its_own_state():
    assert _due({**DEFAULT, "when": ["degraded"]}, "degraded")
    assert not _due(DEFAULT, "degraded")
    assert not _due({**DEFAULT, "when": ["failure"]}, "degraded", previous="degraded")


def test_a_degraded_run_after_an_alerting_streak_is_the_recovery():
    assert _due(DEFAULT, "degraded", previous="failed", previous_failures=1)
    assert not _due({**DEFAULT, "after_failures": 3}, "degraded", previous="failed", previous_failures=2)


def test_secrets_are_sealed_with_a_fresh_nonce_and_tamper_evident():
    one, two = seal("s3cret"), seal("s3cret")
    assert one != two and "s3cret" not in one
    assert unseal(one) == "s3cret"
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        unseal(one[:-4] + ("AAAA" if not one.endswith("AAAA") else "BBBB"))
