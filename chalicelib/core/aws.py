"""Lazy boto3 clients, made once per container and shared by every handler.

Every client honours AWS_ENDPOINT_URL (the local emulator) and uses botocore's
"standard" retry mode, so throttling is retried with backoff before we see it.
"""
from __future__ import annotations

import threading
from typing import Any

from chalicelib.core.settings import get_settings

STANDARD_RETRY_MAX_ATTEMPTS = 5

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_queue_urls: dict[str, str] = {}


def get_client(service: str, *, read_timeout_seconds: int | None = None) -> Any:
    """``read_timeout_seconds``: for calls that wait long (a sandbox run's Invoke); botocore's
    default is 60 s. A client per distinct value."""
    key = service if read_timeout_seconds is None else f"{service}:{read_timeout_seconds}"
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            settings = get_settings()
            extra = {} if read_timeout_seconds is None else {"read_timeout": read_timeout_seconds}
            _clients[key] = boto3.session.Session().client(
                service,
                region_name=settings.region,
                endpoint_url=settings.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": STANDARD_RETRY_MAX_ATTEMPTS},
                              **extra),
            )
        return _clients[key]


def queue_url(name: str) -> str:
    """URL of the stage's queue `name` ("sms", "runs", ...), looked up once."""
    url = _queue_urls.get(name)
    if url is None:
        queue_name = get_settings().queue_name(name)
        url = get_client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
        _queue_urls[name] = url
    return url


def reset_clients() -> None:
    """Drop cached clients (tests point them at a fresh emulator)."""
    with _lock:
        _clients.clear()
        _queue_urls.clear()
