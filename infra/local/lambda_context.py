"""The Lambda context object handlers receive, for the local stack."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

DEFAULT_FUNCTION_TIMEOUT_SECONDS = 300


@dataclass
class LocalLambdaContext:
    function_name: str
    timeout_seconds: int = DEFAULT_FUNCTION_TIMEOUT_SECONDS
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
