"""User regular expressions (``regex_match``), compiled for RE2: matching takes linear time.

Python's ``re`` backtracks: ``(a+)+b`` against 31 ``a``s runs for minutes on the event loop,
past every deadline. RE2 (google-re2) guarantees time linear in the text and memory bounded
by ``_MAX_PROGRAM_BYTES`` per pattern; what it gives up is backreferences (``\\1``) and
lookaround (``(?=...)``, ``(?<!...)``), which are refused with a message saying so.
The module is imported only when a pattern is compiled, so re2 stays off the API's cold path
until a testcase with ``regex_match`` is saved or run.
"""

from __future__ import annotations

from typing import Any

import re2

from chalicelib.runner._cache import text_cache

_MAX_PROGRAM_BYTES = 8 * 1024 * 1024  # RE2's own default, stated: a pattern past it fails
_MAX_SHOWN_CHARS = 80


def _options() -> Any:
    options = re2.Options()
    options.max_mem = _MAX_PROGRAM_BYTES
    options.log_errors = False  # the reason goes to the user, not to the worker's stderr
    return options


_OPTIONS = _options()


@text_cache(maxsize=1024)
def compile_user_regex(pattern: str) -> Any:
    """The compiled pattern; ValueError with a human reason when RE2 cannot run it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        shown = pattern if len(pattern) <= _MAX_SHOWN_CHARS else pattern[:_MAX_SHOWN_CHARS] + "..."
        raise ValueError(
            f"invalid regular expression {shown!r}: {reason} (patterns run in RE2, in linear "
            "time: backreferences and lookaround are not supported)"
        ) from None
