"""Storage plumbing of runs: report details in S3 (gzip JSON), raw DynamoDB writes whose
attribute names are data (the quarter-hour counters), and the finishing transaction."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

from chalicelib.core.aws import get_client
from chalicelib.core.db import CONDITION_FAILED, batch_get_items, cancellation_codes, transaction_cancelled
from chalicelib.core.settings import get_settings
from chalicelib.runs.models import PERIOD_QUARTERS, QUARTER_SECONDS, RUNNING, Report, RunStats


class AlreadyFinal(Exception):
    """The report left the state a transition expected (finished, reaped, or redelivered)."""


# --- S3 ------------------------------------------------------------------------------------------

def attempts_key(report_id: str) -> str:
    """The detail merged over a retried run's attempts so far (runs/retries.py)."""
    return f"details/{report_id}/attempts.json.gz"


def detail_key(report_id: str, chunk: int | None = None) -> str:
    if chunk is None:
        return f"details/{report_id}.json.gz"
    return f"details/{report_id}/chunk-{chunk:05d}.json.gz"


def put_detail(key: str, detail: dict) -> None:
    body = gzip.compress(json.dumps(detail, separators=(",", ":"), default=str).encode(), compresslevel=6)
    get_client("s3").put_object(Bucket=get_settings().reports_bucket, Key=key, Body=body,
                                ContentType="application/json", ContentEncoding="gzip")


def get_detail(key: str) -> dict | None:
    """The stored detail, or None when it is not there (not written yet, or expired)."""
    s3 = get_client("s3")
    try:
        answer = s3.get_object(Bucket=get_settings().reports_bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None
    raw = answer["Body"].read()
    if raw[:2] == b"\x1f\x8b":  # stored gzipped; a client may have decoded it already
        raw = gzip.decompress(raw)
    return json.loads(raw)


# --- quarter-hour counters ---------------------------------------------------------------------------

def quarter(moment: datetime) -> int:
    return int(moment.timestamp()) // QUARTER_SECONDS


def period_of(q: int) -> int:
    return q // PERIOD_QUARTERS


def stats_update(project_id: str, moment: datetime, tests_run: int, successes: int,
                 degraded: int = 0) -> dict:
    """A TransactWriteItems Update adding one report's counts to its quarter hour (`d<q>`: the
    passing test cases that were degraded)."""
    q = quarter(moment)
    period = period_of(q)
    retention = timedelta(days=get_settings().daily_stats_retention_days)
    period_end = datetime.fromtimestamp((period + 1) * PERIOD_QUARTERS * QUARTER_SECONDS,
                                        tz=moment.tzinfo)
    return {"Update": {
        "TableName": RunStats.Meta.table_name,
        "Key": {"project_id": {"S": project_id}, "period": {"N": str(period)}},
        "UpdateExpression": "ADD #t :t, #s :s" + (", #d :d" if degraded else "") + " SET expires_at = :exp",
        "ExpressionAttributeNames": {"#t": f"t{q}", "#s": f"s{q}", **({"#d": f"d{q}"} if degraded else {})},
        "ExpressionAttributeValues": {":t": {"N": str(tests_run)}, ":s": {"N": str(successes)},
                                      **({":d": {"N": str(degraded)}} if degraded else {}),
                                      ":exp": {"N": str(int((period_end + retention).timestamp()))}},
    }}


def read_stats(keys: list[tuple[str, int]]) -> list[dict]:
    """Raw run-stats items for (project_id, period) keys, those that exist, in the keys' order:
    one eventually consistent BatchGetItem per 100 keys."""
    table = RunStats.Meta.table_name
    items = batch_get_items([(table, {"project_id": {"S": p}, "period": {"N": str(n)}}) for p, n in keys],
                            consistent=False)
    return [item for item in items if item is not None]


# --- the finishing transaction --------------------------------------------------------------------------

def finish(report: Report, status: str, *, finished_at: datetime, tests_run: int, successes: int,
           failures: int, duration_ms: int, error: str | None = None, has_detail: bool = False,
           expect: str = RUNNING, degraded: int = 0, timings: dict | None = None,
           attempts: list[dict] | None = None) -> None:
    """`expect` -> `status` for the report and the day's counters, in one TransactWriteItems.

    The condition on the report's status makes it happen once: a redelivery, a second
    chunk or the reaper racing it finds the report moved on and gets AlreadyFinal.
    """
    serialize = Report.finished_at.serialize
    names = {"#st": "status"}
    values = {":final": {"S": status}, ":expect": {"S": expect}, ":fin": {"S": serialize(finished_at)},
              ":dur": {"N": str(int(duration_ms))}, ":t": {"N": str(tests_run)},
              ":s": {"N": str(successes)}, ":f": {"N": str(failures)}}
    sets = ("#st = :final, finished_at = :fin, duration_ms = :dur, tests_run = :t, successes = :s, "
            "failures = :f")
    if error:
        values[":err"] = {"S": error[:2000]}
        names["#e"] = "error"
        sets += ", #e = :err"
    if has_detail:
        values[":one"] = {"N": "1"}
        sets += ", has_detail = :one"
    if timings:
        values[":tim"] = {"S": json.dumps(timings)}  # as the model's JSONAttribute stores it
        sets += ", timings = :tim"
    if attempts:  # a run with a retry policy: every attempt's record (runs/retries.py)
        values[":att"] = {"S": json.dumps(attempts)}
        sets += ", attempts = :att"
    items = [{"Update": {
        "TableName": Report.Meta.table_name,
        "Key": {"id": {"S": report.id}},
        "UpdateExpression": f"SET {sets} REMOVE active, active_since",
        "ConditionExpression": "#st = :expect",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }}]
    if tests_run:
        items.append(stats_update(report.project_id, finished_at, tests_run, successes, degraded))
    from botocore.exceptions import ClientError

    client = get_client("dynamodb")
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as error_:
        if transaction_cancelled(error_) and cancellation_codes(error_)[:1] == [CONDITION_FAILED]:
            raise AlreadyFinal(report.id) from None
        raise
