"""Alert channels as a project (or a task) stores them: each as given, its signing secret sealed
(AES-GCM under a key derived from HAT_SECRET_KEY), answers showing only `has_secret`.

The bodies are catalog/schemas.py's `Alerts`; sending them is chalicelib/notify/alerts.py's
(which unseals). Here, below both catalog and the features that send, because a project's
defaults are stored with the project (and a task's overrides by schedules, above catalog).
"""
from __future__ import annotations

import uuid

from chalicelib.core import sealing

_PUBLIC_FIELDS = ("id", "type", "target", "when", "after_failures", "quiet_minutes")


_ALERT_KEY_PURPOSE = b"alert-channel-secrets"


def seal(secret: str) -> str:
    return sealing.seal(sealing.derived_key(_ALERT_KEY_PURPOSE), secret, b"alert")


def unseal(box: str) -> str:
    return sealing.unseal(sealing.derived_key(_ALERT_KEY_PURPOSE), box, b"alert")


def stored_channels(sent: list, before: list[dict] | None) -> list[dict]:
    """The channels as stored: new ids where none were given; a kept id without a secret keeps
    the sealed one it had."""
    kept = {c["id"]: c for c in before or []}
    out = []
    for channel in sent:
        entry = {name: getattr(channel, name) for name in _PUBLIC_FIELDS}
        entry["id"] = entry["id"] or uuid.uuid4().hex[:12]
        if channel.secret is not None:
            entry["secret_box"] = seal(channel.secret)
        elif kept.get(entry["id"], {}).get("type") == entry["type"] and kept[entry["id"]].get("secret_box"):
            entry["secret_box"] = kept[entry["id"]]["secret_box"]
        out.append(entry)
    return out


def stored_alerts(sent: list | None, before: list[dict] | None) -> list[dict] | None:
    """A body's `alerts` as stored: None when not given, null or empty (the defaults apply)."""
    return (stored_channels(sent, before) or None) if sent is not None else None


def channels_view(channels: list[dict] | None) -> list[dict]:
    return [
        {**{name: c.get(name) for name in _PUBLIC_FIELDS}, "has_secret": bool(c.get("secret_box"))}
        for c in channels or []
    ]
