"""Accounts: registration with a verification code, login, logout, password reset, disabling.

Services take plain values and return plain values or raise typed errors
(core/errors.py). DynamoDB calls per operation are counted in each docstring.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.accounts import limits
from chalicelib.accounts.codes import consume_condition, spend_try
from chalicelib.accounts.extensions import user_disabled
from chalicelib.accounts.models import AccountKey, LimitCounter, Session, User, VerificationCode
from chalicelib.accounts.passwords import check_password
from chalicelib.accounts.passwords import hash_password as _bcrypt_hash
from chalicelib.accounts.sessions import (
    create_session,
    hash_token,
    refresh_sessions,
    revoke_all_sessions,
    revoke_sessions,
    revoke_token,
    session_hashes,
)
from chalicelib.core.auth import User as PublicUser
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import Cancelled, Tx, get_many, get_or_none
from chalicelib.core.errors import BadRequest, Conflict, Forbidden, TooManyRequests, Unauthorized
from chalicelib.core.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.accounts.schemas import ProfilePatch

logger = logging.getLogger("hat.accounts")

BAD_LOGIN = "wrong account or password"
BAD_CODE = "wrong, expired or already used code; ask for a new one"
# Session items one TransactWriteItems takes next to the operation's own items (at most 4:
# the user, the reset code, the account's and the client's login-failure counters).
# DynamoDB allows 100 items a transaction; 90 leaves room. Sessions past these go in separate calls after it.
SESSIONS_PER_TRANSACTION = 90


def hash_password(password: str) -> str:
    return _bcrypt_hash(password)


def account_keys(username: str, email: str, mobile: str | None) -> dict[str, str]:
    """field name -> the claim key that makes it unique ('username#alice')."""
    keys = {"username": f"username#{username.lower()}", "email": f"email#{email.lower()}"}
    if mobile:
        keys["mobile"] = f"mobile#{mobile}"
    return keys


def login_key(account: str) -> str:
    """The claim key a login name points at: '@' means email, '+' a mobile, else a username."""
    account = account.strip()
    if "@" in account:
        return f"email#{account.lower()}"
    if account.startswith("+"):
        return f"mobile#{account}"
    return f"username#{account.lower()}"


def bad_code() -> BadRequest:
    return BadRequest(BAD_CODE, code="invalid_code", fields={"code": BAD_CODE})


def create_user(username: str, email: str, password: str, mobile: str | None = None, *,
                clock: Clock, code: VerificationCode | None = None) -> dict:
    """Store a user and claim its username, email and mobile in one transaction.

    Of any number of racing registrations for one name, exactly one commits; the
    rest get Conflict naming the field that was taken. With `code`, the same
    transaction spends the verification code (deleted on the condition that it is
    still the same code), so a code is used once and only by a registration that
    committed.
    """
    user = User(str(uuid.uuid4()), username=username, email=email.lower(), mobile=mobile,
                password_hash=hash_password(password), created_at=clock())
    claims = account_keys(username, email, mobile)
    tx = Tx().put("user", user, User.id.does_not_exist())
    for field, key in claims.items():
        tx.put(field, AccountKey(key, user_id=user.id), AccountKey.key.does_not_exist())
    if code is not None:
        tx.delete("code", code, consume_condition(code))
    try:
        tx.commit()
    except Cancelled as cancelled:
        taken = [field for field in claims if cancelled.failed(field)]
        if taken:
            raise Conflict(f"{taken[0]} is already registered", code="already_registered",
                           fields={field: "already registered" for field in taken}) from None
        if cancelled.failed("code"):
            raise bad_code() from None
        raise
    return user.to_public()


def _live_code(candidates: Iterable[str], purpose: str, code: str, now: datetime,
               client_ip: str = "") -> VerificationCode:
    for record_key in candidates:
        record = spend_try(record_key, purpose, code, now, client_ip)
        if record is not None:
            return record
    raise bad_code()


def register(username: str, password: str, email: str, code: str, mobile: str | None = None, *,
             client_ip: str = "", clock: Clock) -> dict:
    """A new user, if `code` is the live registration code sent to `email` (or to `mobile`).

    DynamoDB: one UpdateItem per destination tried (1, or 2 with a mobile) and one
    TransactWriteItems.
    """
    now = clock()
    email = email.lower()
    candidates = [f"register#{email}"] + ([f"register#{mobile}"] if mobile else [])
    record = _live_code(candidates, "register", code, now, client_ip)
    return create_user(username, email, password, mobile, clock=clock, code=record)


def _identity(claim: AccountKey | None, account: str) -> str:
    """Whom failures are counted against: the user (any of its names), or the name tried."""
    return f"user#{claim.user_id}" if claim is not None else f"account#{login_key(account)}"


def _ip_counter_key(client_ip: str) -> str:
    return f"login-fail#ip#{client_ip or 'unknown'}"


def _refuse_if_throttled(ip_failures: LimitCounter | None, pair: str, now: datetime,
                         account_failures: LimitCounter | None = None) -> None:
    """429 (with Retry-After) while a delay set by earlier failures runs, before any check."""
    settings = get_settings()
    waits = ((limits.pair_wait(ip_failures, pair, now), "this account from this address"),
             (limits.counter_wait(ip_failures, settings.login_max_failures_per_ip, now), "this address"),
             (limits.wait_until(account_failures.until if account_failures else None, now), "this account"))
    for wait, what in waits:
        if wait is not None:
            raise TooManyRequests(f"too many failed attempts for {what}; try again in {wait} s",
                                  retry_after_seconds=wait, code="too_many_attempts")


def _count_failure(ip_key: str, ip_failures: LimitCounter | None, pair: str, now: datetime) -> None:
    """One more failure of this account from this client: its delay grows from the 5th."""
    settings = get_settings()
    failures = limits.pair_count(ip_failures, pair, now) + 1
    delay = limits.growing_delay(failures, settings.login_max_failures_per_client,
                                 settings.login_first_delay_seconds, settings.login_window_seconds)
    limits.hit(ip_key, settings.login_window_seconds, now, seen=ip_failures, pair=pair,
               pair_until=now.timestamp() + delay if delay else None)


def login(account: str, password: str, *, remember: bool = False, client_ip: str = "",
          clock: Clock) -> dict:
    """A session for a right account/password pair; one 401 message for every wrong pair.

    Throttled with growing delays, not a hard lock (OWASP ASVS 5.0 V6.3): from the
    `login_max_failures_per_client`-th failure of one account from one client, that pair
    waits `login_first_delay_seconds`, doubling per further failure (at most
    `login_window_seconds`); the account for everyone only from its
    `login_max_failures_per_account`-th failure, the same way; one client trying many
    accounts gets 429 after `login_max_failures_per_ip` until its window passes. The owner
    on their own client is not locked out by someone else's guesses. An unknown account
    costs the same bcrypt check and is counted the same way.
    DynamoDB: GetItem (account key), BatchGetItem (user + both counters), then
    PutItem (session) [+ UpdateItem forgetting this pair's failures] on success, or two
    UpdateItems (the account's and the client's counters) on failure.
    """
    settings = get_settings()
    now = clock()
    claim = get_or_none(AccountKey, login_key(account))
    user_id = claim.user_id if claim is not None else None
    identity = _identity(claim, account)
    account_key, ip_key = f"login-fail#{identity}", _ip_counter_key(client_ip)
    pair = limits.short_hash(identity)
    user, failures, ip_failures = get_many([(User, user_id) if user_id else None,
                                            (LimitCounter, account_key), (LimitCounter, ip_key)])
    _refuse_if_throttled(ip_failures, pair, now, failures)
    if not check_password(password, user.password_hash if user is not None else None):
        account_delay = limits.growing_delay(
            limits.live_count(failures, now) + 1, settings.login_max_failures_per_account,
            settings.login_first_delay_seconds, settings.login_window_seconds)
        limits.hit(account_key, settings.login_window_seconds, now, seen=failures,
                   until=now.timestamp() + account_delay if account_delay else None)
        _count_failure(ip_key, ip_failures, pair, now)
        raise Unauthorized(BAD_LOGIN, code="bad_credentials")
    if user.disabled:
        raise Forbidden("this account is disabled", code="account_disabled")
    public = user.to_public()
    token, expires_at = create_session(public, remember=remember, clock=clock)
    if limits.pair_count(ip_failures, pair, now):
        limits.forget_pair(ip_key, pair)
    return {"token": token, "expires_at": isoformat(expires_at), "user": public}


def logout(token: str) -> None:
    """The token stops working at once. DynamoDB: DeleteItem."""
    revoke_token(token)


def reset_password(account: str, code: str, new_password: str, *, client_ip: str = "",
                   clock: Clock) -> int:
    """Set a new password with a live reset code; every session of the user ends.

    A wrong code, or an account that does not exist, is the same 400 after the same
    work: the same try on a code (for an unknown account at a key no code has, which
    changes nothing) and the same failure counted for the client, with login's limits
    and delays (checked before the try, so a throttled client spends none). Returns how
    many sessions ended. DynamoDB: BatchGetItem (account key + the client's counter),
    UpdateItem (a try on the code), then on a wrong code UpdateItem (the failure), or
    Query (the user's sessions) and one TransactWriteItems: password, spend the code,
    forget login failures and delete the sessions, so they end with the password (past
    `SESSIONS_PER_TRANSACTION`, the rest go by BatchWriteItem right after).
    """
    now = clock()
    ip_key = _ip_counter_key(client_ip)
    claim, ip_failures = get_many([(AccountKey, login_key(account)), (LimitCounter, ip_key)])
    identity = _identity(claim, account)
    # Reset tries have a pair of their own: an owner's mistyped passwords do not hold up the
    # reset that mends them (the client's count, `login_max_failures_per_ip`, holds both).
    reset_pair, login_pair = limits.short_hash(f"reset#{identity}"), limits.short_hash(identity)
    _refuse_if_throttled(ip_failures, reset_pair, now)
    try:
        record = _live_code([f"reset#{claim.user_id if claim is not None else identity}"], "reset", code, now,
                            client_ip)
    except BadRequest:
        _count_failure(ip_key, ip_failures, reset_pair, now)
        raise
    new_hash = hash_password(new_password)
    sessions = session_hashes(claim.user_id)
    ended, rest = sessions[:SESSIONS_PER_TRANSACTION], sessions[SESSIONS_PER_TRANSACTION:]
    tx = (Tx().update("user", User(claim.user_id), [User.password_hash.set(new_hash)], User.id.exists())
              .delete("code", record, consume_condition(record))
              .delete("failures", LimitCounter(f"login-fail#user#{claim.user_id}")))
    for number, token_hash in enumerate(ended):
        tx.delete(f"session {number}", Session(token_hash))
    stale_pairs = [p for p in (login_pair, reset_pair) if limits.pair_count(ip_failures, p, now)]
    if stale_pairs:  # this client's failures for the account go with the old password
        tx.update("client failures", LimitCounter(ip_key), limits.pair_removals(stale_pairs),
                  LimitCounter.key.exists())
    try:
        tx.commit()
    except Cancelled:
        raise bad_code() from None  # the code was just used, or the user is gone
    return len(ended) + (revoke_sessions(rest) if rest else 0)


def update_profile(user: PublicUser, token: str, body: ProfilePatch) -> dict:
    """Change the signed-in user's settings; answers the user as it now is.

    Query (the user's sessions) and one TransactWriteItems: the user and the snapshot in
    each live session, so every session sees the change on its next request. The caller's
    own session is always in it (the index may not show one made a moment ago); a session
    that ends meanwhile cancels the transaction, which is then tried once more afresh.
    """
    changes = {"timezone": body.timezone} if body.timezone is not None else {}
    public = {**user, **changes}
    if not changes:
        return public
    for attempt in (1, 2):
        hashes = list(dict.fromkeys([hash_token(token), *session_hashes(user["id"])]))
        tx = Tx().update("user", User(user["id"]), [User.timezone.set(public["timezone"])],
                         User.id.exists())
        for number, token_hash in enumerate(hashes[:SESSIONS_PER_TRANSACTION]):
            tx.update(f"session {number}", Session(token_hash), [Session.user.set(public)],
                      Session.token_hash.exists())
        try:
            tx.commit()
            break
        except Cancelled:
            if attempt == 2:  # the first try met a session that had ended meanwhile: this one too
                raise Unauthorized("this session has ended", code="unauthorized") from None
    refresh_sessions(hashes[SESSIONS_PER_TRANSACTION:], public)
    return public


def disable_user(user_id: str) -> int:
    """The user can no longer sign in, and every session and API key ends now (the features
    listening are told: keys revokes theirs, accounts/extensions.py). Returns how many
    sessions ended."""
    User(user_id).update(actions=[User.disabled.set(True)], condition=User.id.exists())
    user_disabled(user_id)
    return revoke_all_sessions(user_id)


def enable_user(user_id: str) -> None:
    User(user_id).update(actions=[User.disabled.set(False)], condition=User.id.exists())
