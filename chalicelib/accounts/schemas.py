"""Request bodies of the accounts routes (pydantic v2): every bad field is named in a 400.

Imported by the views when they run, not at `import app`: pydantic is the heaviest
import on the request path and the cold-start budget has no room for it.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.accounts.passwords import password_problem
from chalicelib.core.fields import Timezone, valid_email, valid_mobile

USERNAME = re.compile(r"[A-Za-z0-9_-]{5,20}")
CODE = re.compile(r"[0-9]{6}")
MAX_USERNAME_CHARS = 20
MAX_CODE_CHARS = 16  # 6 digits, and spaces around them


def _invalid(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def valid_new_password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise _invalid("password", f"password {problem}")
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeRequest(_Body):
    channel: Literal["sms", "email"]
    destination: str = Field(max_length=254)
    purpose: Literal["register", "reset"]

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if channel == "sms":
            return valid_mobile(value)
        if channel == "email":
            return valid_email(value)
        return value  # channel itself is wrong; that is the field reported


class RegisterBody(_Body):
    username: str
    password: str
    email: str
    mobile: str | None = None
    code: str

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if len(value) > MAX_USERNAME_CHARS or not USERNAME.fullmatch(value):
            raise _invalid("username", "must be 5-20 letters, digits, '_' or '-'")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return valid_new_password(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return valid_email(value)

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return valid_mobile(value) if value else None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if len(value) > MAX_CODE_CHARS or not CODE.fullmatch(value.strip()):
            raise _invalid("code", "must be the 6 digits we sent")
        return value.strip()


class LoginBody(_Body):
    account: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    remember: bool = False


class PasswordResetBody(_Body):
    account: str = Field(min_length=1, max_length=254)
    code: str
    new_password: str

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return RegisterBody._code(value)

    @field_validator("new_password")
    @classmethod
    def _new_password(cls, value: str) -> str:
        return valid_new_password(value)


class ProfilePatch(_Body):
    """Only the fields sent change."""

    timezone: Timezone | None = None
