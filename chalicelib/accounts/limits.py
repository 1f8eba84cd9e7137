"""Rate limits kept in DynamoDB: race-safe by conditional writes, never "check then write".

- Code sends per destination: a sliding history of send times on one item, replaced
  under a version condition. Of N racing requests exactly one is recorded; the rest
  are told to wait (they lost to a send that happened just now).
- Counters (code sends per IP, login failures per account and IP): atomic ADD over a
  window that starts with the first hit and ends `window` seconds later.
- Login (and reset) failures are throttled with growing delays, not a hard lock (OWASP
  ASVS 5.0 V6.3): per account-and-client pair from its 5th failure, per account only from
  its 50th. A pair's count lives in the client's counter (`pairs`), so a failure still
  writes two items, and a hard lock for everyone never happens.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.accounts.models import LimitCounter, SendHistory
from chalicelib.core.errors import TooManyRequests

DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SendRules:
    resend_seconds: int
    window_seconds: int
    window_limit: int
    daily_limit: int


def _wait(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def send_refusal(sends: list[float], rules: SendRules, now: float) -> tuple[str, int] | None:
    """Why a new send to a destination with this history must wait, and how long; or None."""
    recent = sorted(t for t in sends if t > now - DAY_SECONDS)
    if recent and now - recent[-1] < rules.resend_seconds:
        return (f"a code was sent to this destination less than {rules.resend_seconds} s ago",
                _wait(recent[-1] + rules.resend_seconds - now))
    in_window = [t for t in recent if t > now - rules.window_seconds]
    if len(in_window) >= rules.window_limit:
        # The oldest send of the window must leave it before another fits.
        return (f"at most {rules.window_limit} codes per {rules.window_seconds // 60} minutes "
                "to one destination", _wait(in_window[-rules.window_limit] + rules.window_seconds - now))
    if len(recent) >= rules.daily_limit:
        return (f"at most {rules.daily_limit} codes per day to one destination",
                _wait(recent[-rules.daily_limit] + DAY_SECONDS - now))
    return None


def history_key(destination: str) -> str:
    return f"code-sends#{destination}"


def record_send(history: SendHistory | None, destination: str, rules: SendRules, now: datetime) -> None:
    """Record a send to `destination` if the rules allow it now; else TooManyRequests.

    `history` is the item as just read (consistently); the write is conditional on it
    being unchanged, so two racing requests cannot both pass.
    """
    from pynamodb.exceptions import PutError

    stamp = round(now.timestamp(), 3)
    sends = list(history.sends) if history is not None else []
    refusal = send_refusal(sends, rules, stamp)
    if refusal is not None:
        message, wait = refusal
        raise TooManyRequests(message, retry_after_seconds=wait, code="too_many_codes")
    kept = [t for t in sends if t > stamp - DAY_SECONDS] + [stamp]
    version = history.version if history is not None else 0
    item = SendHistory(history_key(destination), sends=kept, version=version + 1,
                       expires_at=now + timedelta(seconds=DAY_SECONDS))
    condition = (SendHistory.version == version) if history is not None else SendHistory.key.does_not_exist()
    try:
        item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise TooManyRequests("a code was just sent to this destination",
                              retry_after_seconds=rules.resend_seconds, code="too_many_codes") from error


def counter_wait(counter: LimitCounter | None, limit: int, now: datetime) -> int | None:
    """Seconds until this counter's window passes if it has reached `limit`; else None."""
    if counter is None or counter.count < limit:
        return None
    remaining = counter.window_ends - now.timestamp()
    return _wait(remaining) if remaining > 0 else None


def short_hash(text: str) -> str:
    """A fixed-size map key for a client address or an account (no raw IP in the item)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def growing_delay(failures: int, limit: int, first_delay: int, max_delay: int) -> int:
    """Seconds to wait after the `failures`-th failure: none below `limit`, then `first_delay`,
    doubling with each further failure, at most `max_delay`."""
    if failures < limit:
        return 0
    return min(max_delay, first_delay * 2 ** min(failures - limit, 32))


def live_count(counter: LimitCounter | None, now: datetime) -> int:
    """The counter's count if its window is still open, else 0."""
    return counter.count if counter is not None and counter.window_ends > now.timestamp() else 0


def _entry(values: object, pair: str) -> float | None:
    """pairs[pair] of a counter: a read item holds a MapAttribute, a new one a dict."""
    entries = values.as_dict() if hasattr(values, "as_dict") else (values or {})
    return entries.get(pair)


def pair_count(counter: LimitCounter | None, pair: str, now: datetime) -> int:
    """A pair's failures in this client's counter while its window is open, else 0."""
    if not live_count(counter, now):
        return 0
    return int(_entry(counter.pairs, pair) or 0)


def wait_until(until: float | None, now: datetime) -> int | None:
    """Seconds until `until` (epoch seconds) if it is still ahead, else None."""
    if until is None or until <= now.timestamp():
        return None
    return _wait(float(until) - now.timestamp())


def pair_wait(counter: LimitCounter | None, pair: str, now: datetime) -> int | None:
    return wait_until(_entry(counter.pair_until, pair), now) if counter is not None else None


def hit(key: str, window_seconds: int, now: datetime, *, seen: LimitCounter | None = None,
        until: float | None = None, pair: str | None = None, pair_until: float | None = None) -> LimitCounter:
    """Add one to the counter `key`, starting a new window if there is none or it has passed.

    Both writes are conditional, so racing hits are all counted. `seen` (the counter as
    read just before, if it was) picks the write likely to succeed first: one call.
    `until` sets the counter's delay; `pair` also adds one to that pair's count in the
    counter (and `pair_until` sets the pair's delay), in the same write.
    """
    from pynamodb.exceptions import PutError, UpdateError

    stamp = now.timestamp()
    start_new = seen is None or seen.window_ends <= stamp
    for _ in range(3):
        if not start_new:
            counter = LimitCounter(key)
            actions = [LimitCounter.count.add(1)]
            condition = LimitCounter.window_ends > stamp
            if until is not None:
                actions.append(LimitCounter.until.set(until))
            if pair is not None:
                path = LimitCounter.pairs[pair]
                actions.append(path.set((path | 0) + 1))
                if pair_until is not None:
                    actions.append(LimitCounter.pair_until[pair].set(pair_until))
                condition &= LimitCounter.pairs.exists() & LimitCounter.pair_until.exists()
            try:
                counter.update(actions=actions, condition=condition)
                return counter
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
        fresh = LimitCounter(key, count=1, window_ends=stamp + window_seconds, until=until,
                             pairs={pair: 1} if pair else {},
                             pair_until={pair: pair_until} if pair and pair_until is not None else {},
                             expires_at=now + timedelta(seconds=max(window_seconds, (until or 0) - stamp,
                                                                    (pair_until or 0) - stamp)))
        replaceable = LimitCounter.key.does_not_exist() | (LimitCounter.window_ends <= stamp)
        if pair is not None:  # a counter written before pairs existed goes, like a passed window
            replaceable |= LimitCounter.pairs.does_not_exist()
        try:
            fresh.save(condition=replaceable)
            return fresh
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        start_new = False  # someone else's window is live: count in it
    raise RuntimeError(f"could not count a hit on {key}")


def clear(key: str) -> None:
    LimitCounter(key).delete()


def forget_pair(key: str, pair: str) -> None:
    """A success: this pair's failures and delay in the client's counter are gone."""
    from pynamodb.exceptions import UpdateError

    try:
        LimitCounter(key).update(actions=pair_removals([pair]), condition=LimitCounter.key.exists())
    except UpdateError as error:  # the counter expired meanwhile: nothing left to forget
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def pair_removals(pairs: list[str]) -> list:
    """The update actions that forget these pairs' failures and delays in a client's counter."""
    return [path[pair].remove() for pair in pairs for path in (LimitCounter.pairs, LimitCounter.pair_until)]
