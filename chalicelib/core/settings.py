"""Every setting hat reads, from environment variables, in one place.

Settings are read lazily (first call of `get_settings()`), so tests and the local
stack can set the environment before anything looks at it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

DEFAULT_STAGE = "dev"
DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_JOB_RETRY_DELAYS_SECONDS = (5, 30)
DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 24 * 3600
DEFAULT_IN_PROGRESS_EXPIRES_AFTER_SECONDS = 15 * 60
DEFAULT_BCRYPT_ROUNDS = 12
DEFAULT_SESSION_EXPIRES_AFTER_SECONDS = 12 * 3600
DEFAULT_REMEMBERED_SESSION_EXPIRES_AFTER_SECONDS = 14 * 24 * 3600
# Only for local and test stages; deployed stages must set HAT_SECRET_KEY (from SSM).
INSECURE_DEV_SECRET_KEY = "hat-dev-insecure-secret-key"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _seconds_list(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in _csv(value))


@dataclass(frozen=True)
class Settings:
    stage: str = DEFAULT_STAGE
    version: str = "0.1.0"
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    secret_key: str = INSECURE_DEV_SECRET_KEY
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    reports_bucket: str = ""
    job_retry_delays_seconds: tuple[int, ...] = DEFAULT_JOB_RETRY_DELAYS_SECONDS
    idempotency_expires_after_seconds: int = DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS
    in_progress_expires_after_seconds: int = DEFAULT_IN_PROGRESS_EXPIRES_AFTER_SECONDS
    outbound_allow: tuple[str, ...] = field(default_factory=tuple)
    ip_allow: tuple[str, ...] = field(default_factory=tuple)  # CIDRs; empty = everyone
    ip_deny: tuple[str, ...] = field(default_factory=tuple)
    bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS
    session_expires_after_seconds: int = DEFAULT_SESSION_EXPIRES_AFTER_SECONDS
    remembered_session_expires_after_seconds: int = DEFAULT_REMEMBERED_SESSION_EXPIRES_AFTER_SECONDS

    @property
    def prefix(self) -> str:
        """Every table, queue and schedule group name starts with this."""
        return f"hat-{self.stage}"

    def table_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def queue_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def schedule_group(self) -> str:
        return self.prefix


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    stage = env.get("HAT_STAGE", DEFAULT_STAGE)
    return Settings(
        stage=stage,
        version=env.get("HAT_VERSION", Settings.version),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        secret_key=env.get("HAT_SECRET_KEY", INSECURE_DEV_SECRET_KEY),
        max_body_bytes=int(env.get("HAT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        reports_bucket=env.get("HAT_REPORTS_BUCKET", f"hat-{stage}-reports"),
        job_retry_delays_seconds=_seconds_list(env["HAT_JOB_RETRY_DELAYS_SECONDS"])
        if "HAT_JOB_RETRY_DELAYS_SECONDS" in env
        else DEFAULT_JOB_RETRY_DELAYS_SECONDS,
        idempotency_expires_after_seconds=int(
            env.get("HAT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS", DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS)
        ),
        in_progress_expires_after_seconds=int(
            env.get("HAT_IN_PROGRESS_EXPIRES_AFTER_SECONDS", DEFAULT_IN_PROGRESS_EXPIRES_AFTER_SECONDS)
        ),
        outbound_allow=_csv(env.get("HAT_OUTBOUND_ALLOW", "")),
        ip_allow=_csv(env.get("HAT_IP_ALLOW", "")),
        ip_deny=_csv(env.get("HAT_IP_DENY", "")),
        bcrypt_rounds=int(env.get("HAT_BCRYPT_ROUNDS", DEFAULT_BCRYPT_ROUNDS)),
        session_expires_after_seconds=int(
            env.get("HAT_SESSION_EXPIRES_AFTER_SECONDS", DEFAULT_SESSION_EXPIRES_AFTER_SECONDS)
        ),
        remembered_session_expires_after_seconds=int(
            env.get("HAT_REMEMBERED_SESSION_EXPIRES_AFTER_SECONDS",
                    DEFAULT_REMEMBERED_SESSION_EXPIRES_AFTER_SECONDS)
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
