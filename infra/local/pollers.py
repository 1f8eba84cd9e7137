"""One poller per `@app.on_sqs_message` handler: what Lambda's SQS event source does.

It long-polls the queue, builds the event Lambda would, calls the same handler,
deletes the message on success and leaves it on failure, so visibility timeouts
and the queue's redrive policy (maxReceiveCount -> DLQ) behave as on AWS.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, SQSEventConfig

from infra.local.lambda_context import LocalLambdaContext

logger = logging.getLogger("hat.local.pollers")
WAIT_TIME_SECONDS = 1  # short, so Ctrl-C stops quickly


def lambda_record(message: dict, queue_arn: str, region: str) -> dict:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                   "dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsPoller:
    def __init__(self, name: str, handler: Callable[[dict, Any], Any], queue_name: str,
                 sqs: Any, *, batch_size: int = 1, region: str = "us-east-1") -> None:
        self.name = name
        self.handler = handler
        self.queue_name = queue_name
        self.sqs = sqs
        self.batch_size = max(1, min(10, batch_size))
        self.region = region
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue_url: str | None = None
        self._queue_arn: str | None = None

    def _resolve_queue(self) -> None:
        if self._queue_url is None:
            self._queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
            self._queue_arn = self.sqs.get_queue_attributes(
                QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def poll_once(self, wait_seconds: int = WAIT_TIME_SECONDS) -> int:
        """Receive one batch and hand it to the handler; returns how many messages came."""
        self._resolve_queue()
        messages = self.sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds, AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [lambda_record(m, self._queue_arn, self.region) for m in messages]}
        try:
            result = self.handler(event, LocalLambdaContext(function_name=self.name))
        except Exception:
            logger.exception("handler %s failed; %d message(s) stay for redelivery",
                             self.name, len(messages))
            return len(messages)
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])} \
            if isinstance(result, dict) else set()
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the emulator restarting, a queue not there yet...
                logger.exception("poller %s: receive failed", self.name)
                self._stop.wait(1)

    def start(self) -> SqsPoller:
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=WAIT_TIME_SECONDS + 5)


def pollers_for(app: Chalice, sqs: Any, region: str) -> list[SqsPoller]:
    """A poller for every SQS handler registered on the app (blueprints included)."""
    pollers = []
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            queue_name = source.queue or source.queue_arn.rsplit(":", 1)[-1]
            pollers.append(SqsPoller(source.name, app.handler_map[source.name], queue_name, sqs,
                                     batch_size=source.batch_size, region=region))
    return pollers
