"""The database seam (PynamoDB): table names carry the stage; one transaction builder (`Tx`:
labelled items, a cancellation says which failed, `Cancelled`); one conditional update
(`update_if`: True/False); one paged Query (`query_page`, with `checked_start_key` and
`string_key` for cursors); one way to read many items (`get_many`, BatchGetItem); one
Connection per endpoint. DynamoDB's error codes (of PynamoDB's errors and botocore's) are read
here and nowhere else.

Each helper issues a known number of calls, so a route's count is visible in its code:
`Tx.commit` is one TransactWriteItems (plus `retries` more only on a TransactionConflict),
`query_page` one Query, `update_if` one UpdateItem."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib.core.aws import get_client
from chalicelib.core.errors import ServiceUnavailable, ValidationFailed
from chalicelib.core.settings import load_settings

if TYPE_CHECKING:
    from pynamodb.connection import Connection
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action
    from pynamodb.models import MetaProtocol, Model

    ModelT = TypeVar("ModelT", bound=Model)

logger = logging.getLogger("hat.db")

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


# PynamoDB sends a transaction's items in this order, whatever order they were added in.
_KINDS = ("check", "delete", "put", "update")


class Cancelled(Exception):
    """A transaction DynamoDB cancelled: per label, the reason and (if asked) the item as it was."""

    def __init__(self, codes: dict[str, str], items: dict[str, RawItem | None]) -> None:
        super().__init__(", ".join(f"{label}: {code}" for label, code in codes.items() if code != "None"))
        self.codes = codes
        self.items = items

    def failed(self, label: str) -> bool:
        return self.codes.get(label) == CONDITION_FAILED

    def old(self, label: str, model: type[Model]) -> Model | None:
        """The item `label` named as it was when its condition failed (return_old=True)."""
        raw = self.items.get(label)
        return model.from_raw_data(raw) if raw else None

    @property
    def only_conflicts(self) -> bool:
        codes = {code for code in self.codes.values() if code != "None"}
        return bool(codes) and codes <= {CONFLICT}


class Tx:
    """A TransactWriteItems whose items carry labels, so a cancellation says which one failed."""

    def __init__(self) -> None:
        self._ops: dict[str, list[tuple[str, Callable[[Any], None]]]] = {kind: [] for kind in _KINDS}

    def __len__(self) -> int:
        return sum(len(ops) for ops in self._ops.values())

    @property
    def labels(self) -> list[str]:
        """Labels in the order DynamoDB sees the items (and lists cancellation reasons)."""
        return [label for kind in _KINDS for label, _ in self._ops[kind]]

    def check(self, label: str, model: type[Model], hash_key: str, condition: Condition) -> Tx:
        self._ops["check"].append(
            (label, lambda tx: tx.condition_check(model, hash_key, condition=condition)))
        return self

    def put(self, label: str, item: Model, condition: Condition | None = None) -> Tx:
        self._ops["put"].append((label, lambda tx: tx.save(item, condition=condition)))
        return self

    def update(self, label: str, item: Model, actions: Sequence[Action],
               condition: Condition | None = None, *, return_old: bool = False) -> Tx:
        """`return_old`: on a failed condition, Cancelled.old(label) is the item as it was."""
        values = "ALL_OLD" if return_old else None
        self._ops["update"].append(
            (label, lambda tx: tx.update(item, actions=list(actions), condition=condition,
                                         return_values=values)))
        return self

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> Tx:
        self._ops["delete"].append((label, lambda tx: tx.delete(item, condition=condition)))
        return self

    def commit(self, *, retries: int = 0) -> None:
        """Commit; a cancellation raises Cancelled. Retries only TransactionConflict (another
        transaction on the same item in flight), then answers 503 with Retry-After."""
        from pynamodb.exceptions import TransactWriteError
        from pynamodb.transactions import TransactWrite

        ordered = [op for kind in _KINDS for op in self._ops[kind]]
        if len(ordered) > 100:
            raise ValueError(f"a transaction holds at most 100 items, not {len(ordered)}")
        for attempt in range(retries + 1):
            try:
                with TransactWrite(connection=connection()) as tx:
                    for _label, add in ordered:
                        add(tx)
                return
            except TransactWriteError as error:
                if not transaction_cancelled(error):
                    raise
                codes = cancellation_codes(error)
                codes += ["None"] * (len(ordered) - len(codes))
                reasons = list(error.cancellation_reasons)
                reasons += [None] * (len(ordered) - len(reasons))
                labels = [label for label, _ in ordered]
                cancelled = Cancelled(
                    dict(zip(labels, codes, strict=True)),
                    {label: (r.raw_item if r else None) for label, r in zip(labels, reasons, strict=True)},
                )
                if not cancelled.only_conflicts:
                    if set(cancelled.codes.values()) - {"None", CONDITION_FAILED, CONFLICT}:
                        raise  # a request we built wrong: a bug, not the client's doing
                    raise cancelled from error
                logger.info("transaction conflict (attempt %d)", attempt + 1)
        raise ServiceUnavailable("busy: another change to the same item was in flight; retry",
                                 retry_after_seconds=1, code="busy")


def string_key(**attributes: str) -> dict[str, dict[str, str]]:
    """A DynamoDB key in wire form: string_key(id="x") -> {"id": {"S": "x"}}."""
    return {name: {"S": value} for name, value in attributes.items()}


def checked_start_key(start: Mapping[str, Any] | None, *, names: Iterable[str],
                      partition: Mapping[str, str]) -> RawItem | None:
    """A decoded cursor, accepted only for this list (same key attributes and partition)."""
    if start is None:
        return None
    names = set(names)
    if (not isinstance(start, dict) or set(start) != names
            or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
                       for v in start.values())
            or any(start[name]["S"] != value for name, value in partition.items())):
        raise ValidationFailed({"cursor": "not a cursor of this list"})
    return start


def query_page(results_for: Callable[..., Any], model: type[ModelT], *, limit: int, start_key: RawItem | None,
               key_of: Callable[[ModelT], RawItem], read_ahead: int | None = None,
               ) -> tuple[list[ModelT], RawItem | None]:
    """One Query: up to `limit` items and the key to continue after them (None: no more).

    Reads `limit + 1` items (or `read_ahead` when a filter may drop many) so that the last
    page says so, and builds the cursor from the last item returned, not from how far
    DynamoDB read.
    """
    page_size = max(limit + 1, read_ahead or 0)
    results = results_for(page_size=page_size, last_evaluated_key=start_key)
    raw = next(results.page_iter)
    items = [model.from_raw_data(item) for item in raw.get("Items", [])]
    if len(items) > limit:
        items = items[:limit]
        return items, key_of(items[-1])
    return items, raw.get("LastEvaluatedKey")
