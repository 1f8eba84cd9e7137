"""A project's ``debugtalk.py``: its function names read with ``ast`` (never executed), and
the function table the engine is given where it may run (the project's sandbox, the CLI).

The API only ever calls ``function_names``: it parses the source, it does not run it. Running
it (``load_functions``) happens in a process of the project's own (``chalicelib/sandbox``) or
on the user's machine (the CLI). Every function in the table is wrapped so that whatever it
does wrong (raises, loops past its time, exhausts memory) becomes a ``UserCodeError`` on the
step that called it, showing only the traceback lines of the user's own file.
"""

from __future__ import annotations

import ast
import importlib.util
import signal
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.runner.errors import SubstitutionError
from chalicelib.runner.template import parse, render

MAX_SOURCE_BYTES = 64 * 1024
MODULE_NAME = "debugtalk"
_TRACEBACK_LINES = 8  # of the user's file, the innermost kept


class DebugtalkInvalid(ValueError):
    """A source that cannot be saved: not UTF-8, too big, or a syntax error (``line``)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class UserCodeError(SubstitutionError):
    """A debugtalk.py function that failed; the engine reports it on the step."""

    error_type = "user_code"


class UserAssertion(UserCodeError):
    """An AssertionError from a function used as a comparator: the check fails."""


class _CallTimedOut(BaseException):
    # a BaseException, so that a user's `except Exception:` cannot swallow it
    pass


def function_names(source: str) -> list[str]:
    """The public top-level functions of a debugtalk.py, by parsing it (no code runs).

    DebugtalkInvalid names the line of a syntax error.
    """
    if len(source.encode("utf-8", errors="replace")) > MAX_SOURCE_BYTES:
        raise DebugtalkInvalid(f"debugtalk.py is larger than {MAX_SOURCE_BYTES} bytes")
    try:
        tree = ast.parse(source, filename="debugtalk.py")
    except SyntaxError as exc:
        raise DebugtalkInvalid(
            f"line {exc.lineno}: {exc.msg}", line=exc.lineno
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise DebugtalkInvalid(f"debugtalk.py cannot be parsed: {exc}") from None
    names = [
        node.name for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not node.name.startswith("_")
    ]
    return sorted(set(names))


def load_functions(
    path: Path, *, call_seconds: float | None = None
) -> dict[str, Callable[..., Any]]:
    """Import ``path`` as the module ``debugtalk`` and wrap its public functions.

    ``call_seconds``: each call's wall-clock budget (SIGALRM; main thread only), so a loop
    fails its step instead of the whole run. UserCodeError when importing the file fails.
    """
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise UserCodeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # so its own `import debugtalk` and pickling work
    filename = str(path)
    try:
        with _time_limit(call_seconds, "importing debugtalk.py"):
            spec.loader.exec_module(module)
    except (Exception, _CallTimedOut) as exc:  # noqa: BLE001 - any failure is the user's
        raise _user_error("importing debugtalk.py", exc, filename) from None
    table: dict[str, Callable[..., Any]] = {}
    for name, value in vars(module).items():
        if isinstance(value, types.FunctionType) and not name.startswith("_"):
            table[name] = _wrapped(name, value, filename, call_seconds)
    return table


def _wrapped(
    name: str, func: Callable[..., Any], filename: str, call_seconds: float | None
) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            with _time_limit(call_seconds, f"{name}()"):
                return func(*args, **kwargs)
        except (Exception, _CallTimedOut) as exc:  # noqa: BLE001 - any failure is the user's
            raise _user_error(f"{name}()", exc, filename) from None

    call.__name__ = name
    return call


@contextmanager
def _time_limit(seconds: float | None, what: str) -> Iterator[None]:
    if not seconds:
        yield
        return

    def expired(_signum: int, _frame: Any) -> None:
        raise _CallTimedOut(f"{what} ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _user_error(what: str, exc: BaseException, filename: str) -> UserCodeError:
    if isinstance(exc, _CallTimedOut):
        return UserCodeError(f"{exc} (timeout)")
    if isinstance(exc, MemoryError):
        return UserCodeError(f"{what} ran out of memory (MemoryError)")
    # only the frames of the user's own file: the platform's are none of their business
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [f'  File "debugtalk.py", line {f.lineno}, in {f.name}: {f.line}'
             for f in frames[-_TRACEBACK_LINES:]]
    detail = f"{type(exc).__name__}: {exc}"
    message = "\n".join([f"{what} raised {detail}", *lines])
    kind = UserAssertion if isinstance(exc, AssertionError) else UserCodeError
    return kind(message)


def compare_with(func: Callable[..., Any], actual: Any, expected: Any, message: str) -> str | None:
    """A debugtalk.py function used as a comparator, as HttpRunner calls one: the check fails
    when it raises AssertionError; None when it passes, else why it failed."""
    try:
        if message:
            func(actual, expected, message)
        else:
            func(actual, expected)
    except UserAssertion as exc:
        return str(exc)
    return None


def expand_function_values(
    doc: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]],
    environment: Mapping[str, Any],
) -> dict[str, Any]:
    """The document with config ``variables: "${func()}"`` and ``parameters: {k:
    "${func()}"}`` replaced by what the functions return (HttpRunner computes them once per
    testcase, before its first step). SubstitutionError when a function fails or returns the
    wrong shape."""
    from chalicelib.runner.functions import FunctionContext

    config = doc.get("config")
    if not isinstance(config, dict):
        return dict(doc)
    ctx = FunctionContext(environment=environment, user_functions=functions)

    def lookup(name: str) -> Any:
        if name in environment:
            return environment[name]
        raise SubstitutionError(f"variable ${name} is not defined")

    def value(text: str) -> Any:
        return render(text, lookup, ctx) if parse(text) else text

    config = dict(config)
    variables = config.get("variables")
    if isinstance(variables, str):
        variables = value(variables)
        if not isinstance(variables, dict):
            raise SubstitutionError(f"config.variables: the function returned "
                                    f"{type(variables).__name__}, not a mapping")
        config["variables"] = variables
    parameters = config.get("parameters")
    if isinstance(parameters, dict):
        parameters = dict(parameters)
        for key, values in parameters.items():
            if isinstance(values, str):
                parameters[key] = _parameter_values(str(key), value(values))
        config["parameters"] = parameters
    return {**doc, "config": config}


def expand_documents(
    docs: Sequence[Mapping[str, Any]], functions: Mapping[str, Callable[..., Any]],
    environment: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(documents ready for the engine, failed testcase reports of those whose function
    values could not be computed)."""
    ready: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for doc in docs:
        try:
            ready.append(expand_function_values(doc, functions, environment))
        except SubstitutionError as exc:
            config = doc.get("config") if isinstance(doc, Mapping) else None
            name = str((config or {}).get("name") or "testcase")
            failed.append({"name": name, "success": False, "error": str(exc),
                           "error_type": exc.error_type,
                           "duration_ms": 0.0, "steps": []})
    return ready, failed


def _parameter_values(key: str, values: Any) -> list[Any]:
    if not isinstance(values, list):
        raise SubstitutionError(f"config.parameters.{key}: the function returned "
                                f"{type(values).__name__}, not a list")
    names = key.split("-")
    if len(names) == 1:
        return [item[key] if isinstance(item, dict) and key in item else item for item in values]
    out = []
    for item in values:
        if isinstance(item, dict):  # HttpRunner's [{"user": .., "password": ..}] form
            try:
                item = [item[name] for name in names]
            except KeyError as exc:
                raise SubstitutionError(f"config.parameters.{key}: an item lacks {exc}") from None
        out.append(item)
    return out
