"""Test fixtures shared by every suite.

One AWS emulator (moto server mode, real HTTP) serves the whole session. Its
address is fixed before any test module imports the app, so every client and
PynamoDB model points at it; the server itself starts only when a test first asks
for it, so unit tests (no I/O) run without one. `aws` resets and re-provisions it
from infra/resources.yaml before a test, so tests never see each other's data.
"""
from __future__ import annotations

import logging
import os

import pytest

from infra.local.emulator import Emulator

_emulator: Emulator | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _emulator
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulator's access log
    _emulator = Emulator()
    os.environ.update(_emulator.environment())
    os.environ["HAT_STAGE"] = "dev"  # what .chalice/config.json's "local" stage gives the test client too
    os.environ.setdefault("HAT_JOB_RETRY_DELAYS_SECONDS", "0")
    from chalicelib.core.aws import reset_clients
    from chalicelib.core.settings import reset_settings

    reset_settings()
    reset_clients()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _emulator is not None:
        _emulator.stop()


@pytest.fixture
def emulator() -> Emulator:
    assert _emulator is not None
    if not _emulator.running:
        _emulator.start()
    return _emulator


@pytest.fixture
def aws(emulator: Emulator, monkeypatch: pytest.MonkeyPatch):
    """A freshly provisioned emulator; returns `get_client`."""
    from chalicelib.core.aws import get_client, reset_clients
    from chalicelib.core.settings import get_settings, reset_settings
    from infra.local.provision import provision

    emulator.reset()
    reset_settings()
    reset_clients()
    for name, value in provision(get_client, stage=get_settings().stage,
                                 region=get_settings().region).items():
        monkeypatch.setenv(name, value)
    reset_settings()
    yield get_client
    reset_settings()
    reset_clients()


@pytest.fixture
def app(aws):
    from app import app as chalice_app

    return chalice_app


@pytest.fixture
def client(app):
    from chalice.test import Client

    # "local": the stage of `make dev` and the tests (no SSM secrets; tables hat-dev-*).
    with Client(app, stage_name="local") as test_client:
        yield test_client


class SignedIn:
    """A user with a live session, for tests of routes that need one."""

    def __init__(self, user: dict, token: str) -> None:
        self.user = user
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture
def make_user(aws, monkeypatch):
    """make_user("alice") -> SignedIn; cheap bcrypt so tests stay fast."""
    from chalicelib.accounts.service import create_user
    from chalicelib.accounts.sessions import create_session
    from chalicelib.core.edge import edge
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_BCRYPT_ROUNDS", "4")
    reset_settings()

    def make(username: str = "alice", *, email: str | None = None, mobile: str | None = None,
             password: str = "correct horse battery") -> SignedIn:
        # the edge's clock: a test that replaced it (core/edge.py) signs its users in by it too
        user = create_user(username, email or f"{username}@example.com", password, mobile, clock=edge().clock)
        token, _ = create_session(user, clock=edge().clock)
        return SignedIn(user, token)

    return make


@pytest.fixture
def ddb_calls(aws, monkeypatch):
    """Every DynamoDB operation the code issues from here on, in order ("GetItem", "Query"...).

    A botocore `before-call.dynamodb` hook on every DynamoDB client: the ones that exist
    already (PynamoDB's per model and per connection, boto3's in core.aws) and any made
    while the test runs. `ddb_calls.clear()` between steps.
    """
    from tests.support import hook_dynamodb

    calls: list[str] = []

    def record(model, **_kwargs) -> None:
        calls.append(model.name)

    unhook = hook_dynamodb(monkeypatch, record)
    yield calls
    unhook()
