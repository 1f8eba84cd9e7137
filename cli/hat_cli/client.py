"""A small JSON client for hat's API over urllib (no dependency), authenticated by an API key.

Failures become the command's exit codes: `UsageError` (2: a bad key, a missing scope,
something not there, a request the API refused as invalid) and `PlatformError` (3: the
API unreachable or failing). 429 and 503 are waited out (Retry-After) a few times first.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

USER_AGENT = "hat-cli/0.1"
RETRIES = 5
MAX_WAIT_SECONDS = 30.0


class CliError(Exception):
    exit_code = 2


class UsageError(CliError):
    """Bad arguments, key, scope, or a request the API refused: exit 2."""

    exit_code = 2


class PlatformError(CliError):
    """The API could not be reached, or failed, or a run timed out: exit 3."""

    exit_code = 3


class Refused(UsageError):
    """The API answered 4xx: `status` and its error body."""

    def __init__(self, status: int, error: dict) -> None:
        self.status = status
        self.error = error
        fields = error.get("fields") or {}
        detail = "; ".join(f"{name}: {text}" for name, text in fields.items())
        super().__init__(f"{status} {error.get('code', 'error')}: {error.get('message', '')}"
                         + (f" ({detail})" if detail else ""))


class Client:
    def __init__(self, url: str, key: str, *, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not url:
            raise UsageError("set HAT_URL (e.g. https://hat.example.com) or pass --url")
        if not key:
            raise UsageError("set HAT_API_KEY (a project key: hat_...) or pass --key")
        if not key.startswith("hat_"):
            raise UsageError("HAT_API_KEY is not a hat API key (they start with hat_)")
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.sleep = sleep

    def request(self, method: str, path: str, body: Any = None, *, raw: bool = False) -> Any:
        """The answer's JSON (or bytes, with `raw`); None for an empty answer."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.key}", "User-Agent": USER_AGENT,
                   "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(RETRIES + 1):
            request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                    payload = answer.read()
                return payload if raw else (json.loads(payload) if payload else None)
            except urllib.error.HTTPError as error:
                payload = error.read()
                if error.code in (429, 503) and attempt < RETRIES:
                    self.sleep(_retry_after(error.headers.get("Retry-After"), attempt))
                    continue
                raise _failure(error.code, payload) from None
            except (urllib.error.URLError, OSError) as error:
                if attempt < 2:
                    self.sleep(1.0 + attempt)
                    continue
                raise PlatformError(f"cannot reach {self.url}: {getattr(error, 'reason', error)}") from None
        raise PlatformError(f"{method} {path}: still busy after {RETRIES} retries")

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def pages(self, path: str) -> list:
        """Every item of a list route, following next_cursor."""
        items: list = []
        cursor = None
        while True:
            query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self.get(f"{path}?{urllib.parse.urlencode(query)}")
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        wait = float(value) if value else 2.0 ** attempt
    except ValueError:
        wait = 2.0 ** attempt
    return min(max(wait, 0.5), MAX_WAIT_SECONDS)


def _failure(status: int, payload: bytes) -> CliError:
    try:
        error = json.loads(payload).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if status >= 500:
        return PlatformError(f"the API failed ({status}): {error.get('message') or payload[:200]!r}")
    if not error:
        error = {"code": "error", "message": payload[:200].decode(errors="replace")}
    return Refused(status, error)
