"""PynamoDB plumbing: table names carry the stage; one way to make a transaction."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib.core.settings import load_settings

_connections: dict[tuple, object] = {}


def table_meta(name: str) -> type:
    """A PynamoDB `Meta` for the stage's table `name`, as defined in infra/resources.yaml.

    Names need only the environment (stage, region, endpoint), never secrets: this
    runs at import, also under `chalice package`, where SSM is out of reach.
    """
    settings = load_settings()
    attributes = {"table_name": settings.table_name(name), "region": settings.region}
    if settings.endpoint_url:
        attributes["host"] = settings.endpoint_url
    return type("Meta", (), attributes)


def connection():
    """The Connection for TransactWrite/TransactGet (a bare one would ignore Model.Meta).

    One per container: making its botocore client costs ~90 ms, far more than the call.
    """
    settings = load_settings()
    key = (settings.region, settings.endpoint_url)
    if key not in _connections:
        from pynamodb.connection import Connection

        _connections[key] = Connection(region=settings.region, host=settings.endpoint_url)
    return _connections[key]


@contextmanager
def transaction(client_request_token: str | None = None) -> Iterator:
    """All the writes inside commit together or not at all (TransactWriteItems)."""
    from pynamodb.transactions import TransactWrite

    with TransactWrite(connection=connection(), client_request_token=client_request_token) as tx:
        yield tx


def cancellation_codes(error: Exception) -> list[str]:
    """Per-item reasons of a cancelled transaction ('ConditionalCheckFailed', 'None', ...)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return [(reason.code if reason else "None") or "None" for reason in reasons]


def get_or_none(model: type, hash_key: object, range_key: object = None, *, consistent_read: bool = False):
    """Model.get, but None instead of DoesNotExist."""
    try:
        return model.get(hash_key, range_key, consistent_read=consistent_read)
    except model.DoesNotExist:
        return None
