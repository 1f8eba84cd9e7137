"""Helpers shared by the test suites: a hand-driven clock, DynamoDB client hooks, a JSON API client."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class FakeClock:
    """A clock tests move by hand; pass it where code takes `clock=`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def hook_clients(monkeypatch, handler: Callable, *, event: str, service: str | None = None,
                 first: bool = False) -> Callable[[], None]:
    """Register `handler` on botocore `event` of every client (of `service`, if named).

    Both the clients that exist already (PynamoDB's per model and connection, boto3's in
    core.aws) and any made later; returns the function that unregisters it.
    """
    import gc

    import botocore.client
    import botocore.session

    hooked: list = []

    def hook(client) -> None:
        if service is None or client.meta.service_model.service_name == service:
            register = client.meta.events.register_first if first else client.meta.events.register
            register(event, handler)
            hooked.append(client)

    create_client = botocore.session.Session.create_client

    def hooked_create_client(self, *args, **kwargs):
        client = create_client(self, *args, **kwargs)
        hook(client)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", hooked_create_client)
    for existing in [o for o in gc.get_objects() if isinstance(o, botocore.client.BaseClient)]:
        hook(existing)

    def unhook() -> None:
        for client in hooked:
            client.meta.events.unregister(event, handler)

    return unhook


def hook_dynamodb(monkeypatch, handler: Callable, *, event: str = "before-call",
                  first: bool = False) -> Callable[[], None]:
    """`handler` on `<event>.dynamodb` of every DynamoDB client (see hook_clients)."""
    return hook_clients(monkeypatch, handler, event=f"{event}.dynamodb", service="dynamodb", first=first)


@dataclass
class Answer:
    status: int
    body: object
    headers: dict = field(default_factory=dict)

    @property
    def error(self) -> dict:
        return self.body["error"]


class Api:
    """Chalice's test client with JSON in and out, as one signed-in user (`make_user`)."""

    def __init__(self, client, signed_in) -> None:
        self.client = client
        self.who = signed_in
        self.user = signed_in.user

    def call(self, method: str, path: str, body: object = None, *, raw: bytes | str | None = None,
             content_type: str = "application/json") -> Answer:
        headers = {**self.who.headers, "Content-Type": content_type}
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=headers, body=payload)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        return Answer(response.status_code, json.loads(text) if text else None, dict(response.headers))

    def get(self, path: str) -> Answer:
        return self.call("GET", path)

    def post(self, path: str, body: object = None, **kwargs) -> Answer:
        return self.call("POST", path, body, **kwargs)

    def patch(self, path: str, body: object) -> Answer:
        return self.call("PATCH", path, body)

    def put(self, path: str, body: object) -> Answer:
        return self.call("PUT", path, body)

    def delete(self, path: str, body: object = None) -> Answer:
        return self.call("DELETE", path, body)
