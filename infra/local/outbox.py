"""Where the local SMS and email sinks put what they receive, oldest first."""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

logger = logging.getLogger("hat.local.outbox")


class Outbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[dict] = []

    def add(self, channel: str, to: str, body: str, subject: str | None = None) -> dict:
        item = {"channel": channel, "to": to, "body": body,
                "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if subject is not None:
            item["subject"] = subject
        with self._lock:
            self._items.append(item)
        shown = f" [{subject}]" if subject else ""
        logger.warning("outbox %s to %s%s: %s", channel, to, shown, body)
        return item

    def items(self) -> list[dict]:
        with self._lock:
            return list(self._items)
