"""DynamoDB helpers of the catalog: labelled transactions and one-Query pages (multi-table
gets are core/db.py's `get_many`).

Each helper issues a known number of calls, so a route's count is visible in its code:
`Tx.commit` is one TransactWriteItems (plus `retries` more only on a TransactionConflict),
`query_page` one Query.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pynamodb.models import Model

from chalicelib.core.db import (
    CONDITION_FAILED,
    CONFLICT,
    cancellation_codes,
    connection,
    transaction_cancelled,
)
from chalicelib.core.errors import ServiceUnavailable, ValidationFailed

logger = logging.getLogger("hat.catalog")

# PynamoDB sends a transaction's items in this order, whatever order they were added in.
_KINDS = ("check", "delete", "put", "update")


class Cancelled(Exception):
    """A transaction DynamoDB cancelled: per label, the reason and (if asked) the item as it was."""

    def __init__(self, codes: dict[str, str], items: dict[str, dict | None]) -> None:
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

    def check(self, label: str, model: type[Model], hash_key: str, condition) -> Tx:
        self._ops["check"].append(
            (label, lambda tx: tx.condition_check(model, hash_key, condition=condition)))
        return self

    def put(self, label: str, item: Model, condition=None) -> Tx:
        self._ops["put"].append((label, lambda tx: tx.save(item, condition=condition)))
        return self

    def update(self, label: str, item: Model, actions: list, condition=None, *,
               return_old: bool = False) -> Tx:
        """`return_old`: on a failed condition, Cancelled.old(label) is the item as it was."""
        values = "ALL_OLD" if return_old else None
        self._ops["update"].append(
            (label, lambda tx: tx.update(item, actions=actions, condition=condition, return_values=values)))
        return self

    def delete(self, label: str, item: Model, condition=None) -> Tx:
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


def checked_start_key(start: Mapping | None, *, names: Iterable[str],
                      partition: Mapping[str, str]) -> dict | None:
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


def query_page(results_for: Callable[..., Any], model: type[Model], *, limit: int, start_key: dict | None,
               key_of: Callable[[Any], dict], read_ahead: int | None = None) -> tuple[list, dict | None]:
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
