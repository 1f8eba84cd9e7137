"""SMS through Twilio's own client; only the endpoint differs locally (HAT_TWILIO_API_URL).

`twilio` is imported here, inside the functions, never at `import app`.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from chalicelib.core.settings import Settings, get_settings

TWILIO_API = "https://api.twilio.com"

_lock = threading.Lock()
_clients: dict[tuple, Any] = {}


class NotConfigured(RuntimeError):
    """A channel was used without its credentials; the job fails and, after retries, dead-letters."""


@lru_cache(maxsize=1)
def endpoint_http_client_class() -> type:
    from twilio.http.http_client import TwilioHttpClient

    class EndpointHttpClient(TwilioHttpClient):
        """Twilio's HTTP client, sending what it would send to https://api.twilio.com to `base_url`."""

        def __init__(self, base_url: str = "", **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.base_url = base_url.rstrip("/")

        def request(self, method: str, url: str, *args: Any, **kwargs: Any):
            if self.base_url and url.startswith(TWILIO_API):
                url = self.base_url + url[len(TWILIO_API):]
            return super().request(method, url, *args, **kwargs)

    return EndpointHttpClient


def twilio_client(settings: Settings | None = None) -> Any:
    """The real `twilio.rest.Client`, one per container and credentials."""
    settings = settings or get_settings()
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise NotConfigured("SMS needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    key = (settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url,
           settings.send_timeout_seconds)
    with _lock:
        client = _clients.get(key)
        if client is None:
            from twilio.rest import Client

            http_client = endpoint_http_client_class()(base_url=settings.twilio_api_url,
                                                        timeout=settings.send_timeout_seconds)
            client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
            _clients[key] = client
        return client


def send_sms(to: str, body: str, *, status_callback: str | None = None, client: Any = None,
             settings: Settings | None = None) -> dict:
    """Send one SMS; returns {"provider", "provider_id" (the MessageSid), "status"}."""
    settings = settings or get_settings()
    if not settings.twilio_from_number:
        raise NotConfigured("SMS needs TWILIO_FROM_NUMBER")
    client = client if client is not None else twilio_client(settings)
    options: dict[str, Any] = {"to": to, "from_": settings.twilio_from_number, "body": body}
    if status_callback:
        options["status_callback"] = status_callback
    message = client.messages.create(**options)
    return {"provider": "twilio", "provider_id": message.sid, "status": message.status or "queued"}


def reset_clients() -> None:
    with _lock:
        _clients.clear()
