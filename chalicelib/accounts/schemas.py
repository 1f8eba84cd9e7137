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

USERNAME = re.compile(r"[A-Za-z0-9_-]{5,20}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
CODE = re.compile(r"[0-9]{6}")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _invalid(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def valid_email(value: str) -> str:
    address = value.strip()
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (not at or len(address) > 254 or len(local) > 64 or not _LOCAL_PART.fullmatch(local)
            or len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        raise _invalid("email", "must be an email address like name@example.com")
    return f"{local}@{domain.lower()}".lower()


def valid_mobile(value: str) -> str:
    if not E164.fullmatch(value.strip()):
        raise _invalid("e164", "must be a mobile number in E.164 form, like +8613800138000")
    return value.strip()


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
        if not USERNAME.fullmatch(value):
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
        if not CODE.fullmatch(value.strip()):
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
