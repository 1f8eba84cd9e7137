"""SQS jobs: enqueue, process with backoff, and run a job's effect at most once.

SQS delivers at least once. A handler processes one record at a time
(`batch_size=1`): on failure it pushes the message's next delivery out by the
backoff for its receive count and re-raises, so Lambda (or the local poller)
leaves it on the queue; after the queue's maxReceiveCount it goes to the DLQ.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from chalicelib.core.aws import get_client, queue_url
from chalicelib.core.clock import Clock
from chalicelib.core.db import condition_failed
from chalicelib.core.logs import log_context
from chalicelib.core.settings import get_settings

logger = logging.getLogger("hat.jobs")
Result = TypeVar("Result")

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


class JobInProgress(Exception):
    """Another delivery of the same job is running now; retry this one later."""


def enqueue(queue: str, payload: dict[str, Any], *, delay_seconds: int = 0) -> str:
    """Put a job on the stage's queue `queue` ("sms", "email", "runs"); returns its job id."""
    job_id = payload.get("job_id") or uuid.uuid4().hex
    body = json.dumps({**payload, "job_id": job_id}, separators=(",", ":"))
    get_client("sqs").send_message(
        QueueUrl=queue_url(queue), MessageBody=body, DelaySeconds=max(0, min(900, delay_seconds))
    )
    return job_id


def retry_delay_seconds(receive_count: int) -> int:
    """Backoff before delivery number receive_count + 1 (settings: 5 s, then 30 s...)."""
    delays = get_settings().job_retry_delays_seconds or (0,)
    return delays[min(receive_count, len(delays)) - 1] if receive_count >= 1 else delays[0]


def _queue_url_from_arn(arn: str) -> str:
    url: str = get_client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
    return url


def process_records(records: Iterable[Any], handle: Callable[[dict[str, Any]], object]) -> None:
    """Run `handle(payload)` for each SQS record; postpone and re-raise on failure."""
    for record in records:
        raw = record.to_dict()
        try:
            payload = json.loads(record.body)
        except ValueError:
            # A message no code of ours wrote: retrying cannot help, drop it loudly.
            logger.error("dropping malformed job message %s", raw.get("messageId"))
            continue
        try:
            with log_context(job_id=payload.get("job_id", raw.get("messageId", ""))):
                handle(payload)
        except Exception:
            receive_count = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            delay = retry_delay_seconds(receive_count)
            logger.exception("job %s failed (delivery %d); next try in %d s",
                             payload.get("job_id"), receive_count, delay)
            get_client("sqs").change_message_visibility(
                QueueUrl=_queue_url_from_arn(raw["eventSourceARN"]),
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=delay,
            )
            raise


def run_once(key: str, action: Callable[[], Result], *, clock: Clock) -> tuple[bool, Result | None]:
    """Run `action` unless a job with this key already completed.

    Returns (ran, result). A claim is a conditional put; a failed action releases
    it so a redelivery tries again; a crashed worker's claim lapses after
    `in_progress_expires_after_seconds`.
    """
    from pynamodb.exceptions import PutError

    from chalicelib.core.models import IdempotencyRecord

    settings = get_settings()
    now = clock()
    record = IdempotencyRecord(
        key,
        status=IN_PROGRESS,
        in_progress_until=int(now.timestamp()) + settings.in_progress_expires_after_seconds,
        expires_at=now + timedelta(seconds=settings.idempotency_expires_after_seconds),
    )
    claimable = (
        IdempotencyRecord.key.does_not_exist()
        | (IdempotencyRecord.expires_at < now)
        | ((IdempotencyRecord.status == IN_PROGRESS)
           & (IdempotencyRecord.in_progress_until < int(now.timestamp())))
    )
    try:
        record.save(condition=claimable)
    except PutError as error:
        if not condition_failed(error):
            raise
        existing = IdempotencyRecord.get(key, consistent_read=True)
        if existing.status == COMPLETED:
            logger.info("job %s already done; skipping", key)
            return False, None
        raise JobInProgress(key) from error
    try:
        result = action()
    except BaseException:
        record.delete()
        raise
    record.update(actions=[IdempotencyRecord.status.set(COMPLETED)])
    return True, result
