"""Memoisation for functions of testcase text (templates, paths, validators).

The caches live as long as the worker process, so a long text (a whole body pasted into a
check) is computed each time rather than kept; unhashable arguments skip the cache too.

Every step of every run goes through these several times, so a hit is one dict lookup
(``functools.lru_cache`` plus an argument scan cost ~10x that). The bound is kept by
emptying a full cache, a rare event: a worker sees a few thousand distinct texts at most.
Exceptions are not cached (the function runs again, as with lru_cache).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

MAX_CACHED_TEXT_CHARS = 1024

F = TypeVar("F", bound=Callable[..., Any])


def _cacheable(args: tuple[Any, ...]) -> bool:
    for arg in args:
        if isinstance(arg, str) and len(arg) > MAX_CACHED_TEXT_CHARS:
            return False
    try:
        hash(args)
    except TypeError:
        return False
    return True


def text_cache(maxsize: int) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        memo: dict[tuple[Any, ...], Any] = {}

        @functools.wraps(func)
        def call(*args: Any) -> Any:
            try:
                return memo[args]
            except KeyError:
                pass
            except TypeError:  # an unhashable argument
                return func(*args)
            value = func(*args)
            if _cacheable(args):
                if len(memo) >= maxsize:
                    memo.clear()
                memo[args] = value
            return value

        call.cache_clear = memo.clear  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate
