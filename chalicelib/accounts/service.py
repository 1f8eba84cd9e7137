"""Accounts: registration with a verification code, login, logout, password reset, disabling.

Services take plain values and return plain values or raise typed errors
(core/errors.py). DynamoDB calls per operation are counted in each docstring.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.accounts import limits
from chalicelib.accounts.codes import consume_condition, spend_try
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
from chalicelib.core.clock import Clock, isoformat, utcnow
from chalicelib.core.db import cancellation_codes, get_many, get_or_none, transaction
from chalicelib.core.errors import BadRequest, Conflict, Forbidden, TooManyRequests, Unauthorized
from chalicelib.core.settings import get_settings

logger = logging.getLogger("hat.accounts")

BAD_LOGIN = "wrong account or password"
BAD_CODE = "wrong, expired or already used code; ask for a new one"
# Session items one TransactWriteItems takes next to the operation's own items (at most
# 3: the user, the reset code, the login-failure counter). DynamoDB allows 100 items a
# transaction; 90 leaves room. Sessions past these go in separate calls after it.
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
                clock: Clock = utcnow, code: VerificationCode | None = None) -> dict:
    """Store a user and claim its username, email and mobile in one transaction.

    Of any number of racing registrations for one name, exactly one commits; the
    rest get Conflict naming the field that was taken. With `code`, the same
    transaction spends the verification code (deleted on the condition that it is
    still the same code), so a code is used once and only by a registration that
    committed.
    """
    from pynamodb.exceptions import TransactWriteError

    user = User(str(uuid.uuid4()), username=username, email=email.lower(), mobile=mobile,
                password_hash=hash_password(password), created_at=clock())
    claims = account_keys(username, email, mobile)
    try:
        with transaction() as tx:
            tx.save(user, condition=User.id.does_not_exist())
            for key in claims.values():
                tx.save(AccountKey(key, user_id=user.id), condition=AccountKey.key.does_not_exist())
            if code is not None:
                tx.delete(code, condition=consume_condition(code))
    except TransactWriteError as error:
        # PynamoDB sends deletes before puts: [code?, user, *claims], and so are the reasons.
        reasons = cancellation_codes(error)
        code_reason = reasons.pop(0) if code is not None and reasons else "None"
        taken = [field for field, reason in zip(claims, reasons[1:], strict=False)
                 if reason == "ConditionalCheckFailed"]
        if taken:
            raise Conflict(f"{taken[0]} is already registered", code="already_registered",
                           fields={field: "already registered" for field in taken}) from error
        if code_reason == "ConditionalCheckFailed":
            raise bad_code() from error
        raise
    return user.to_public()


def _live_code(candidates: Iterable[str], purpose: str, code: str, now: datetime) -> VerificationCode:
    for record_key in candidates:
        record = spend_try(record_key, purpose, code, now)
        if record is not None:
            return record
    raise bad_code()


def register(username: str, password: str, email: str, code: str, mobile: str | None = None, *,
             clock: Clock = utcnow) -> dict:
    """A new user, if `code` is the live registration code sent to `email` (or to `mobile`).

    DynamoDB: one UpdateItem per destination tried (1, or 2 with a mobile) and one
    TransactWriteItems.
    """
    now = clock()
    email = email.lower()
    candidates = [f"register#{email}"] + ([f"register#{mobile}"] if mobile else [])
    record = _live_code(candidates, "register", code, now)
    return create_user(username, email, password, mobile, clock=clock, code=record)


def login(account: str, password: str, *, remember: bool = False, client_ip: str = "",
          clock: Clock = utcnow) -> dict:
    """A session for a right account/password pair; one 401 message for every wrong pair.

    Throttled: after `login_max_failures_per_account` failures for one account, or
    `login_max_failures_per_ip` from one address, within `login_window_seconds`, 429
    until that window passes. An unknown account costs the same bcrypt check.
    DynamoDB: GetItem (account key), BatchGetItem (user + both counters), then
    PutItem (session) [+ DeleteItem of an earlier failure count] on success, or two
    UpdateItems (the counters) on failure.
    """
    settings = get_settings()
    now = clock()
    claim = get_or_none(AccountKey, login_key(account))
    user_id = claim.user_id if claim is not None else None
    account_counter = (f"login-fail#user#{user_id}" if user_id
                       else f"login-fail#account#{login_key(account)}")
    ip_counter = f"login-fail#ip#{client_ip or 'unknown'}"
    user, failures, ip_failures = get_many([(User, user_id) if user_id else None,
                                            (LimitCounter, account_counter), (LimitCounter, ip_counter)])
    for counter, limit, what in ((failures, settings.login_max_failures_per_account, "this account"),
                                 (ip_failures, settings.login_max_failures_per_ip, "this address")):
        wait = limits.counter_wait(counter, limit, now)
        if wait is not None:
            raise TooManyRequests(f"too many failed sign-ins for {what}; try again in {wait} s",
                                  retry_after_seconds=wait, code="too_many_attempts")
    if not check_password(password, user.password_hash if user is not None else None):
        limits.hit(account_counter, settings.login_window_seconds, now, seen=failures)
        limits.hit(ip_counter, settings.login_window_seconds, now, seen=ip_failures)
        raise Unauthorized(BAD_LOGIN, code="bad_credentials")
    if user.disabled:
        raise Forbidden("this account is disabled", code="account_disabled")
    public = user.to_public()
    token, expires_at = create_session(public, remember=remember, clock=clock)
    if failures is not None and failures.count:
        limits.clear(account_counter)
    return {"token": token, "expires_at": isoformat(expires_at), "user": public}


def logout(token: str) -> None:
    """The token stops working at once. DynamoDB: DeleteItem."""
    revoke_token(token)


def reset_password(account: str, code: str, new_password: str, *, clock: Clock = utcnow) -> int:
    """Set a new password with a live reset code; every session of the user ends.

    A wrong code, or an account that does not exist, is the same 400. Returns how
    many sessions ended. DynamoDB: GetItem (account key), UpdateItem (a try on the
    code), Query (the user's sessions), and one TransactWriteItems: password, spend the
    code, forget login failures and delete the sessions, so they end with the password
    (past `SESSIONS_PER_TRANSACTION`, the rest go by BatchWriteItem right after).
    """
    from pynamodb.exceptions import TransactWriteError

    now = clock()
    claim = get_or_none(AccountKey, login_key(account))
    if claim is None:
        raise bad_code()
    record = _live_code([f"reset#{claim.user_id}"], "reset", code, now)
    new_hash = hash_password(new_password)
    sessions = session_hashes(claim.user_id)
    ended, rest = sessions[:SESSIONS_PER_TRANSACTION], sessions[SESSIONS_PER_TRANSACTION:]
    try:
        with transaction() as tx:
            tx.update(User(claim.user_id), actions=[User.password_hash.set(new_hash)],
                      condition=User.id.exists())
            tx.delete(record, condition=consume_condition(record))
            tx.delete(LimitCounter(f"login-fail#user#{claim.user_id}"))
            for token_hash in ended:
                tx.delete(Session(token_hash))
    except TransactWriteError as error:
        # Deletes go first: [code, failure counter, sessions..., user]. The code was just used,
        # or the user is gone.
        if "ConditionalCheckFailed" in cancellation_codes(error):
            raise bad_code() from error
        raise
    return len(ended) + (revoke_sessions(rest) if rest else 0)


def update_profile(user: dict, token: str, body: Any) -> dict:
    """Change the signed-in user's settings; answers the user as it now is.

    Query (the user's sessions) and one TransactWriteItems: the user and the snapshot in
    each live session, so every session sees the change on its next request. The caller's
    own session is always in it (the index may not show one made a moment ago); a session
    that ends meanwhile cancels the transaction, which is then tried once more afresh.
    """
    from pynamodb.exceptions import TransactWriteError

    changes = {"timezone": body.timezone} if body.timezone is not None else {}
    public = {**user, **changes}
    if not changes:
        return public
    for attempt in (1, 2):
        hashes = list(dict.fromkeys([hash_token(token), *session_hashes(user["id"])]))
        try:
            with transaction() as tx:
                tx.update(User(user["id"]), actions=[User.timezone.set(public["timezone"])],
                          condition=User.id.exists())
                for token_hash in hashes[:SESSIONS_PER_TRANSACTION]:
                    tx.update(Session(token_hash), actions=[Session.user.set(public)],
                              condition=Session.token_hash.exists())
            break
        except TransactWriteError as error:
            if "ConditionalCheckFailed" not in cancellation_codes(error):
                raise
            if attempt == 2:  # the first try met a session that had ended meanwhile: this one too
                raise Unauthorized("this session has ended", code="unauthorized") from None
    refresh_sessions(hashes[SESSIONS_PER_TRANSACTION:], public)
    return public


def disable_user(user_id: str) -> int:
    """The user can no longer sign in, and every session and API key ends now. Returns how
    many sessions ended."""
    from chalicelib.keys.service import revoke_keys_of

    User(user_id).update(actions=[User.disabled.set(True)], condition=User.id.exists())
    revoke_keys_of(user_id)
    return revoke_all_sessions(user_id)


def enable_user(user_id: str) -> None:
    User(user_id).update(actions=[User.disabled.set(False)], condition=User.id.exists())
