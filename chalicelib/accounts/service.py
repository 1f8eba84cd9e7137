"""Accounts: users with unique username/email/mobile, passwords, sessions."""
from __future__ import annotations

import uuid

from chalicelib.accounts.models import AccountKey, User
from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.db import cancellation_codes, transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.settings import get_settings


def hash_password(password: str) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(get_settings().bcrypt_rounds)).decode()


def account_keys(username: str, email: str, mobile: str | None) -> dict[str, str]:
    """field name -> the claim key that makes it unique ('username#alice')."""
    keys = {"username": f"username#{username.lower()}", "email": f"email#{email.lower()}"}
    if mobile:
        keys["mobile"] = f"mobile#{mobile}"
    return keys


def create_user(username: str, email: str, password: str, mobile: str | None = None, *,
                clock: Clock = utcnow) -> dict:
    """Store a user and claim its username, email and mobile in one transaction.

    Of any number of racing registrations for one name, exactly one commits; the
    rest get Conflict naming the field that was taken.
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
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        taken = [field for field, code in zip(claims, codes[1:], strict=False)
                 if code == "ConditionalCheckFailed"]
        if not taken:
            raise
        raise Conflict(f"{taken[0]} is already registered", code="already_registered",
                       fields={field: "already registered" for field in taken}) from error
    return user.to_public()
