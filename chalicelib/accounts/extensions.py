"""What features above accounts do when an account changes, registered by them (accounts
imports none of them).

- A user disabled: every API key they made stops working (chalicelib/keys, `on_user_disabled`).

keys registers in keys/routes.py, which app.py imports, so dependencies point one way
(keys -> accounts). Registering imports nothing: it costs nothing at `import app`. In the style
of chalicelib/runs/extensions.py.
"""
from __future__ import annotations

from collections.abc import Callable

_disabled_listeners: list[Callable[[str], object]] = []


def on_user_disabled(listener: Callable[[str], object]) -> None:
    """`listener(user_id)` when the user is disabled, before their sessions end. Registering
    the same listener again changes nothing."""
    if listener not in _disabled_listeners:
        _disabled_listeners.append(listener)


def user_disabled(user_id: str) -> None:
    for listener in _disabled_listeners:
        listener(user_id)
