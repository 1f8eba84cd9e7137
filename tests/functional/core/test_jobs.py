"""run_once: a job's effect happens once, whatever the redeliveries."""
import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.clock import utcnow
from chalicelib.core.jobs import JobInProgress, run_once


def test_second_delivery_skips_the_effect(aws):
    sent = []
    assert run_once("sms:job-1", lambda: sent.append(1) or "sid-1", clock=utcnow) == (True, "sid-1")
    assert run_once("sms:job-1", lambda: sent.append(2), clock=utcnow) == (False, None)
    assert sent == [1]


def test_a_failed_effect_releases_the_claim_for_a_retry(aws):
    def fails():
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        run_once("sms:job-2", fails, clock=utcnow)
    assert run_once("sms:job-2", lambda: "ok", clock=utcnow) == (True, "ok")


def test_racing_deliveries_run_the_effect_exactly_once(aws):
    effects, outcomes = [], []
    barrier = threading.Barrier(8)

    def deliver():
        barrier.wait()
        try:
            outcomes.append(run_once("sms:job-3", lambda: effects.append(1), clock=utcnow))
        except JobInProgress:
            outcomes.append("in-progress")

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert effects == [1]
    assert outcomes.count((True, None)) == 1


def test_a_crashed_workers_claim_lapses(aws, monkeypatch):
    from chalicelib.core.models import IdempotencyRecord

    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    IdempotencyRecord("sms:job-4", status="IN_PROGRESS", in_progress_until=int(start.timestamp()) + 60,
                      expires_at=start + timedelta(days=1)).save()
    with pytest.raises(JobInProgress):
        run_once("sms:job-4", lambda: "early", clock=lambda: start)
    later = start + timedelta(minutes=2)
    assert run_once("sms:job-4", lambda: "taken over", clock=lambda: later) == (True, "taken over")


def test_an_expired_record_counts_as_absent(aws):
    """DynamoDB deletes TTL items lazily (the emulator never): expiry is checked in code."""
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    run_once("sms:job-5", lambda: 1, clock=lambda: start)
    much_later = start + timedelta(days=2)
    assert run_once("sms:job-5", lambda: 2, clock=lambda: much_later) == (True, 2)
