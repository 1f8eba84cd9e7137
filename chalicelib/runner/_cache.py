"""Memoisation for functions of testcase text (templates, paths, validators).

The caches live as long as the worker process, so a long text (a whole body pasted into a
check) is computed each time rather than kept; unhashable arguments skip the cache too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

MAX_CACHED_TEXT_CHARS = 1024

F = TypeVar("F", bound=Callable[..., Any])


def text_cache(maxsize: int) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(func)

        @functools.wraps(func)
        def call(*args: Any) -> Any:
            for arg in args:
                if isinstance(arg, str) and len(arg) > MAX_CACHED_TEXT_CHARS:
                    return func(*args)
            try:
                hash(args)
            except TypeError:
                return func(*args)
            return cached(*args)

        return call  # type: ignore[return-value]

    return decorate
