"""Every setting hat reads, from environment variables, in one place.

Settings are read lazily (first call of `get_settings()`), so tests and the local
stack can set the environment before anything looks at it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DEFAULT_STAGE = "dev"
DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_TESTCASE_MAX_BYTES = 256 * 1024  # one stored test case (its JSON), catalog
# Nesting of any JSON or YAML a client sends (core/parsing.py). A test case body is about
# 6 levels around the request JSON it carries; 64 leaves that JSON 58, and stays far under
# json's ~1,000-level recursion limit and libyaml's C stack.
DEFAULT_MAX_JSON_DEPTH = 64
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
    testcase_max_bytes: int = DEFAULT_TESTCASE_MAX_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    reports_bucket: str = ""
    secrets_key_id: str = ""  # KMS key of environments' secrets (envelope keys, core/sealing.py)
    # project files (chalicelib/files): the bucket, one file's size, files per project
    files_bucket: str = ""
    project_file_max_bytes: int = 1024 * 1024
    project_files_max: int = 100
    run_files_max_bytes: int = 8 * 1024 * 1024  # what one run may read of its project's files
    job_retry_delays_seconds: tuple[int, ...] = DEFAULT_JOB_RETRY_DELAYS_SECONDS
    idempotency_expires_after_seconds: int = DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS
    in_progress_expires_after_seconds: int = DEFAULT_IN_PROGRESS_EXPIRES_AFTER_SECONDS
    outbound_allow: tuple[str, ...] = field(default_factory=tuple)
    ip_allow: tuple[str, ...] = field(default_factory=tuple)  # CIDRs; empty = everyone
    ip_deny: tuple[str, ...] = field(default_factory=tuple)
    bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS
    session_expires_after_seconds: int = DEFAULT_SESSION_EXPIRES_AFTER_SECONDS
    remembered_session_expires_after_seconds: int = DEFAULT_REMEMBERED_SESSION_EXPIRES_AFTER_SECONDS
    # accounts: verification codes (Twilio Verify's limits as the reference) and login throttling
    public_url: str = ""  # what the outside world calls: scheme://host[/stage] (Twilio callbacks)
    code_ttl_seconds: int = 300
    code_max_attempts: int = 5  # per client (hashed IP) and code
    code_max_attempts_all_clients: int = 15  # per code: another client's typos cannot use up yours
    code_resend_seconds: int = 60
    code_window_seconds: int = 600
    code_window_limit: int = 5
    code_daily_limit_per_destination: int = 10
    code_daily_limit_per_ip: int = 50
    login_window_seconds: int = 900  # also the longest delay a failure can set
    login_max_failures_per_client: int = 5  # per account and client pair: then growing delays
    login_max_failures_per_account: int = 50  # all clients together: then growing delays
    login_max_failures_per_ip: int = 20  # all accounts from one client: 429 until the window ends
    login_first_delay_seconds: int = 30  # doubles with each failure past a limit
    # notify: SMS through Twilio, email through SMTP or SES
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""
    twilio_api_url: str = ""  # "" = https://api.twilio.com; the local stack points it at its stand-in
    email_backend: str = "smtp"  # smtp | ses
    email_from: str = ""
    smtp_host: str = ""
    smtp_port: int = 0  # 0 = the security's usual port: 465 ssl, 587 starttls, 25 none
    smtp_security: str = "ssl"  # ssl | starttls | none
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    send_timeout_seconds: int = 10
    deliveries_expire_after_seconds: int = 30 * 24 * 3600
    # notify: who may receive a project's alerts (chalicelib/notify/recipients.py)
    notify_daily_limit: int = 200  # messages per project per UTC day
    confirmations_per_project_daily: int = 20  # confirmation requests a project may send a day
    confirmations_per_address_daily: int = 3  # requests one address may get a day, all projects
    confirmation_expires_after_seconds: int = 30 * 24 * 3600  # an unanswered request lapses
    # schedules: user cron tasks on EventBridge Scheduler (ARNs from infra/resources.yaml Globals)
    default_timezone: str = "Asia/Shanghai"
    scheduler_role_arn: str = ""
    runs_queue_arn: str = ""
    runs_dlq_arn: str = ""
    # runs (chalicelib/runs): worker budget, fan-out, reaper, debug route, webhooks
    run_concurrency: int = 10  # requests in flight per run
    run_deadline_seconds: int = 240  # a run's budget inside the worker (Lambda timeout 300 s)
    run_chunk_size: int = 50  # more test cases than this: the run fans out in chunks
    run_stuck_after_seconds: int = 900  # "running" longer than this: the reaper marks it error
    run_queued_stuck_after_seconds: int = 3 * 3600  # "queued" this long (job dead-lettered): error
    debug_deadline_seconds: int = 25  # POST /testcases/debug (API Gateway cuts at 29 s)
    webhook_tolerance_seconds: int = 300
    webhook_previous_secret_seconds: int = 3600  # a rotated-out secret still verifies this long
    hook_delivery_ttl_seconds: int = 30 * 24 * 3600  # GitHub/GitLab delivery ids are refused again this long
    github_api_url: str = "https://api.github.com"  # commit statuses (runs/github.py)
    # keys (chalicelib/keys): requests per key per fixed window
    api_key_rate_limit: int = 120
    api_key_rate_window_seconds: int = 60
    daily_stats_retention_days: int = 60
    # sandbox (chalicelib/sandbox): where a project's debugtalk.py runs
    sandbox_backend: str = "process"  # process (a local process per run) | lambda
    sandbox_role_arn: str = ""  # the execution role of every project's function: logs only
    sandbox_layer_arn: str = ""  # the runner, shared by every project's function
    sandbox_memory_mb: int = 512
    sandbox_reserved_concurrency: int = 2  # per project's function
    sandbox_call_seconds: int = 10  # one debugtalk.py function call
    # imports (chalicelib/imports): test cases and modules one import may create
    import_max_testcases: int = 200
    import_max_modules: int = 50

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


def _accounts_and_notify_settings(env: Mapping[str, str]) -> dict[str, Any]:
    numbers = {
        "code_ttl_seconds": "HAT_CODE_TTL_SECONDS",
        "code_max_attempts": "HAT_CODE_MAX_ATTEMPTS",
        "code_max_attempts_all_clients": "HAT_CODE_MAX_ATTEMPTS_ALL_CLIENTS",
        "code_resend_seconds": "HAT_CODE_RESEND_SECONDS",
        "code_window_seconds": "HAT_CODE_WINDOW_SECONDS",
        "code_window_limit": "HAT_CODE_WINDOW_LIMIT",
        "code_daily_limit_per_destination": "HAT_CODE_DAILY_LIMIT_PER_DESTINATION",
        "code_daily_limit_per_ip": "HAT_CODE_DAILY_LIMIT_PER_IP",
        "login_window_seconds": "HAT_LOGIN_WINDOW_SECONDS",
        "login_max_failures_per_client": "HAT_LOGIN_MAX_FAILURES_PER_CLIENT",
        "login_max_failures_per_account": "HAT_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        "login_first_delay_seconds": "HAT_LOGIN_FIRST_DELAY_SECONDS",
        "login_max_failures_per_ip": "HAT_LOGIN_MAX_FAILURES_PER_IP",
        "smtp_port": "HAT_SMTP_PORT",
        "send_timeout_seconds": "HAT_SEND_TIMEOUT_SECONDS",
        "deliveries_expire_after_seconds": "HAT_DELIVERIES_EXPIRE_AFTER_SECONDS",
        "notify_daily_limit": "HAT_NOTIFY_DAILY_LIMIT",
        "confirmations_per_project_daily": "HAT_CONFIRMATIONS_PER_PROJECT_DAILY",
        "confirmations_per_address_daily": "HAT_CONFIRMATIONS_PER_ADDRESS_DAILY",
        "confirmation_expires_after_seconds": "HAT_CONFIRMATION_EXPIRES_AFTER_SECONDS",
    }
    texts = {
        "public_url": "HAT_PUBLIC_URL",
        "twilio_account_sid": "TWILIO_ACCOUNT_SID",
        "twilio_auth_token": "TWILIO_AUTH_TOKEN",
        "twilio_from_number": "TWILIO_FROM_NUMBER",
        "twilio_api_url": "HAT_TWILIO_API_URL",
        "email_backend": "HAT_EMAIL_BACKEND",
        "email_from": "HAT_EMAIL_FROM",
        "smtp_host": "HAT_SMTP_HOST",
        "smtp_security": "HAT_SMTP_SECURITY",
        "smtp_username": "HAT_SMTP_USERNAME",
        "smtp_password": "HAT_SMTP_PASSWORD",
        "default_timezone": "HAT_DEFAULT_TIMEZONE",
        "scheduler_role_arn": "HAT_SCHEDULER_ROLE_ARN",
        "runs_queue_arn": "HAT_RUNS_QUEUE_ARN",
        "runs_dlq_arn": "HAT_RUNS_DLQ_ARN",
        "github_api_url": "HAT_GITHUB_API_URL",
    }
    values: dict[str, Any] = {name: int(env[var]) for name, var in numbers.items() if env.get(var)}
    values.update({name: env[var].strip() for name, var in texts.items() if var in env})
    for name in ("email_backend", "smtp_security"):
        if name in values:
            values[name] = values[name].lower()
    return values


def _runs_settings(env: Mapping[str, str]) -> dict[str, Any]:
    numbers = {
        "run_concurrency": "HAT_RUN_CONCURRENCY",
        "run_deadline_seconds": "HAT_RUN_DEADLINE_SECONDS",
        "run_chunk_size": "HAT_RUN_CHUNK_SIZE",
        "run_stuck_after_seconds": "HAT_RUN_STUCK_AFTER_SECONDS",
        "run_queued_stuck_after_seconds": "HAT_RUN_QUEUED_STUCK_AFTER_SECONDS",
        "debug_deadline_seconds": "HAT_DEBUG_DEADLINE_SECONDS",
        "webhook_tolerance_seconds": "HAT_WEBHOOK_TOLERANCE_SECONDS",
        "webhook_previous_secret_seconds": "HAT_WEBHOOK_PREVIOUS_SECRET_SECONDS",
        "hook_delivery_ttl_seconds": "HAT_HOOK_DELIVERY_TTL_SECONDS",
        "api_key_rate_limit": "HAT_API_KEY_RATE_LIMIT",
        "api_key_rate_window_seconds": "HAT_API_KEY_RATE_WINDOW_SECONDS",
        "daily_stats_retention_days": "HAT_DAILY_STATS_RETENTION_DAYS",
        "sandbox_memory_mb": "HAT_SANDBOX_MEMORY_MB",
        "sandbox_reserved_concurrency": "HAT_SANDBOX_RESERVED_CONCURRENCY",
        "sandbox_call_seconds": "HAT_SANDBOX_CALL_SECONDS",
        "import_max_testcases": "HAT_IMPORT_MAX_TESTCASES",
        "import_max_modules": "HAT_IMPORT_MAX_MODULES",
    }
    texts = {
        "sandbox_backend": "HAT_SANDBOX_BACKEND",
        "sandbox_role_arn": "HAT_SANDBOX_ROLE_ARN",
        "sandbox_layer_arn": "HAT_SANDBOX_LAYER_ARN",
    }
    values: dict[str, Any] = {name: int(env[var]) for name, var in numbers.items() if env.get(var)}
    values.update({name: env[var].strip() for name, var in texts.items() if env.get(var)})
    return values


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    stage = env.get("HAT_STAGE", DEFAULT_STAGE)
    return Settings(
        stage=stage,
        version=env.get("HAT_VERSION", Settings.version),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        secret_key=env.get("HAT_SECRET_KEY", INSECURE_DEV_SECRET_KEY),
        max_body_bytes=int(env.get("HAT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
        testcase_max_bytes=int(env.get("HAT_TESTCASE_MAX_BYTES", DEFAULT_TESTCASE_MAX_BYTES)),
        max_json_depth=int(env.get("HAT_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)),
        reports_bucket=env.get("HAT_REPORTS_BUCKET", f"hat-{stage}-reports"),
        secrets_key_id=env.get("HAT_SECRETS_KEY_ID", ""),
        files_bucket=env.get("HAT_FILES_BUCKET", f"hat-{stage}-files"),
        project_file_max_bytes=int(env.get("HAT_PROJECT_FILE_MAX_BYTES", Settings.project_file_max_bytes)),
        project_files_max=int(env.get("HAT_PROJECT_FILES_MAX", Settings.project_files_max)),
        run_files_max_bytes=int(env.get("HAT_RUN_FILES_MAX_BYTES", Settings.run_files_max_bytes)),
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
        **_accounts_and_notify_settings(env),
        **_runs_settings(env),
    )


class MissingSecret(RuntimeError):
    """A deployed stage started without a secret it must have."""


def load_ssm_secrets(path: str, env: MutableMapping[str, str]) -> list[str]:
    """Put every parameter under `path` (e.g. /hat/prod/) into `env` by its last name part.

    Secrets (Twilio token, SMTP password, token-hashing key) live in SSM Parameter
    Store as SecureStrings, read once per container at cold start, never in config.json.
    """
    import boto3

    # Its own client: the shared ones are configured from the settings being loaded.
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    ssm = boto3.session.Session().client("ssm", region_name=region,
                                         endpoint_url=env.get("AWS_ENDPOINT_URL") or None)
    paginator = ssm.get_paginator("get_parameters_by_path")
    loaded = []
    for page in paginator.paginate(Path=path, WithDecryption=True, Recursive=False):
        for parameter in page["Parameters"]:
            name = parameter["Name"].rsplit("/", 1)[-1]
            env[name] = parameter["Value"]
            loaded.append(name)
    return loaded


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    path = os.environ.get("HAT_SECRETS_SSM_PATH")
    if path:
        load_ssm_secrets(path, os.environ)
        if os.environ.get("HAT_SECRET_KEY", INSECURE_DEV_SECRET_KEY) == INSECURE_DEV_SECRET_KEY:
            raise MissingSecret(f"HAT_SECRET_KEY must be set under {path} in SSM Parameter Store")
    return load_settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()


def outbound_allow() -> list[str]:
    """HAT_OUTBOUND_ALLOW as the runner's SSRF guard takes it: for every run the app starts
    (the runs worker, alert posts, GitHub statuses)."""
    from chalicelib.runner.ssrf import parse_outbound_allow

    return parse_outbound_allow(",".join(get_settings().outbound_allow))
