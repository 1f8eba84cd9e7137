"""PynamoDB plumbing: table names carry the stage; one way to make a transaction; one way
to read many items (BatchGetItem); one Connection per endpoint. DynamoDB's error codes (of
PynamoDB's errors and botocore's) are read here and nowhere else: `condition_failed`,
`cancellation_codes`, `cancelled_by_condition`, `update_if`."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib.core.aws import get_client
from chalicelib.core.errors import ServiceUnavailable
from chalicelib.core.settings import load_settings

if TYPE_CHECKING:
    from pynamodb.connection import Connection
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action
    from pynamodb.models import MetaProtocol, Model
    from pynamodb.transactions import TransactWrite

    ModelT = TypeVar("ModelT", bound=Model)

BATCH_GET_KEYS = 100  # BatchGetItem's limit per call
BATCH_GET_TRIES = 5  # calls per 100 keys while DynamoDB leaves some unprocessed

_connections: dict[tuple[str, str | None], Connection] = {}
RawItem = dict[str, Any]  # an item as DynamoDB sends it: {"id": {"S": "x"}, ...}


def table_meta(name: str) -> MetaProtocol:
    """A PynamoDB `Meta` for the stage's table `name`, as defined in infra/resources.yaml.

    Names need only the environment (stage, region, endpoint), never secrets: this
    runs at import, also under `chalice package`, where SSM is out of reach.
    """
    settings = load_settings()
    attributes = {"table_name": settings.table_name(name), "region": settings.region}
    if settings.endpoint_url:
        attributes["host"] = settings.endpoint_url
    return cast("MetaProtocol", type("Meta", (), attributes))  # a class made of the settings


def connection() -> Connection:
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
def transaction(client_request_token: str | None = None) -> Iterator[TransactWrite]:
    """All the writes inside commit together or not at all (TransactWriteItems)."""
    from pynamodb.transactions import TransactWrite

    with TransactWrite(connection=connection(), client_request_token=client_request_token) as tx:
        yield tx


CONDITION_FAILED = "ConditionalCheckFailed"  # a cancelled transaction item's reason
CONFLICT = "TransactionConflict"  # another transaction on the same item was in flight
_CONDITION_FAILED_CODE = "ConditionalCheckFailedException"
_CANCELLED_CODE = "TransactionCanceledException"


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a PynamoDB error (`cause_response_code`) or a botocore ClientError."""
    code = getattr(error, "cause_response_code", None)
    response = getattr(error, "response", None)
    if code is None and isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
    return code


def condition_failed(error: BaseException) -> bool:
    """A single-item write (PutItem, UpdateItem, DeleteItem) refused by its condition."""
    return error_code(error) == _CONDITION_FAILED_CODE


def transaction_cancelled(error: BaseException) -> bool:
    """A TransactWriteItems cancelled (read its per-item reasons with `cancellation_codes`)."""
    return error_code(error) == _CANCELLED_CODE


def cancellation_codes(error: BaseException) -> list[str]:
    """Per-item reasons of a cancelled transaction ('ConditionalCheckFailed', 'None', ...), in
    the order of its items: PynamoDB's TransactWriteError or botocore's ClientError."""
    reasons = getattr(error, "cancellation_reasons", None)
    if reasons is None:
        response = getattr(error, "response", None)
        raw = response.get("CancellationReasons", []) if isinstance(response, dict) else []
        return [reason.get("Code") or "None" for reason in raw]
    return [(reason.code if reason else "None") or "None" for reason in reasons]


def cancelled_by_condition(error: BaseException) -> bool:
    """A cancelled transaction one of whose items failed its condition."""
    return CONDITION_FAILED in cancellation_codes(error)


def update_if(item: Model, actions: Sequence[Action], condition: Condition | None) -> bool:
    """`item.update(actions, condition)`: True when written, False when the condition failed
    (one UpdateItem either way); any other error is raised."""
    from pynamodb.exceptions import UpdateError

    try:
        item.update(actions=list(actions), condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def get_or_none(model: type[ModelT], hash_key: object, range_key: object = None, *,
                consistent_read: bool = False) -> ModelT | None:
    """Model.get, but None instead of DoesNotExist."""
    try:
        return model.get(hash_key, range_key, consistent_read=consistent_read)
    except model.DoesNotExist:
        return None


def batch_get_items(keys: Sequence[tuple[str, Mapping[str, Mapping[str, str]]]], *, consistent: bool = True,
                    sleep: Callable[[float], None] = time.sleep) -> list[RawItem | None]:
    """Raw items by key, across tables: `keys` are (table name, key in wire form) pairs,
    e.g. ("dev-users", {"id": {"S": "x"}}) (numbers as DynamoDB writes them: str(int)).

    The answer follows `keys`: per key the item as DynamoDB sends it, or None where there is
    none. One BatchGetItem per 100 distinct keys (a key asked twice is sent once; no keys, no
    call). Keys DynamoDB leaves unprocessed (throttling, its 16 MB answer limit) are asked
    again after 0.1 s, doubling, up to 5 calls per 100 keys; keys still left then are a
    ServiceUnavailable ("busy", 503), as throttling past botocore's retries is.
    """
    unique = {_key_id(table, key): (table, key) for table, key in keys}
    names = {table: tuple(key) for table, key in keys}  # a table's keys all name the same attributes
    pending = list(unique.values())
    found: dict[_KeyId, RawItem] = {}
    for start in range(0, len(pending), BATCH_GET_KEYS):
        request: dict[str, dict[str, Any]] = {}
        for table, key in pending[start:start + BATCH_GET_KEYS]:
            request.setdefault(table, {"Keys": [], "ConsistentRead": consistent})["Keys"].append(dict(key))
        for attempt in range(BATCH_GET_TRIES):
            if attempt:
                sleep(0.05 * 2 ** attempt)
            answer = get_client("dynamodb").batch_get_item(RequestItems=request)
            for table, items in answer.get("Responses", {}).items():
                for item in items:
                    found[_key_id(table, {name: item[name] for name in names[table]})] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise ServiceUnavailable("the service is busy; retry shortly", retry_after_seconds=1, code="busy")
    return [found.get(_key_id(table, key)) for table, key in keys]


_KeyId = tuple[str, tuple[tuple[object, ...], ...]]  # (table, ((name, (type, value)), ...))


def _key_id(table: str, key: Mapping[str, Mapping[str, str]]) -> _KeyId:
    return table, tuple(sorted((name, *value.items()) for name, value in key.items()))


def get_many(wanted: Sequence[tuple[type[Model], str] | None], *,
             consistent: bool = True) -> list[Model | None]:
    """Items of any tables by (model, string hash key), through `batch_get_items` (one
    BatchGetItem per 100 keys, strongly consistent unless asked otherwise).

    The answer follows `wanted`: per entry the model instance, or None where there is no
    item or the entry itself is None.
    """
    asked = [entry for entry in wanted if entry is not None]
    raw = iter(batch_get_items([_wire_key(model, key) for model, key in asked], consistent=consistent))
    out: list[Model | None] = []
    for entry in wanted:
        if entry is None:
            out.append(None)
            continue
        item = next(raw)
        out.append(entry[0].from_raw_data(item) if item is not None else None)
    return out


def _wire_key(model: type[Model], key: str) -> tuple[str, dict[str, dict[str, str]]]:
    name = model._hash_keyname
    if name is None:  # every table here has a hash key
        raise TypeError(f"{model.__name__} has no hash key")
    return model.Meta.table_name, {name: {"S": key}}
