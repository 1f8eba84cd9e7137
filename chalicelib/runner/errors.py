"""Typed errors of the runner. The app maps them to HTTP answers; none of them is a 500."""

from __future__ import annotations

from collections.abc import Iterable


def location_path(location: Iterable[str | int]) -> str:
    """('teststeps', 2, 'validate', 0) -> 'teststeps[2].validate[0]': a place in a document, as
    TestcaseInvalid's ``fields`` (and the app's 400 answers, core/validation.py) name it;
    pydantic's ``[key]`` marker (the error is in a mapping's key) adds nothing. "" for the whole."""
    out = ""
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


class RunnerError(Exception):
    """Base of every error the runner raises on purpose.

    ``error_type`` is the step's error_type in the report when this error fails a step:
    "variable" (an undefined variable, a bad call, no base_url) unless a kind says better.
    """

    error_type: str = "variable"


class TestcaseInvalid(RunnerError):
    """A testcase document that cannot be run as written.

    ``fields`` maps a path into the document (``teststeps[2].validate[0]``, ``config.name``,
    or ``""`` for the document itself) to a human message, so the API can answer 400 with
    per-field messages.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, fields: dict[str, str], note: str | None = None) -> None:
        self.fields = dict(fields)
        summary = "; ".join(f"{path or '<document>'}: {msg}" for path, msg in self.fields.items())
        # a note shared by several fields (the safe builtins) is said once, at the end
        super().__init__(f"invalid testcase: {summary}" + (f" ({note})" if note else ""))


class NestedTooDeep(TestcaseInvalid):
    """Testcase text nested deeper than the limit, refused before any loader saw it."""

    def __init__(self, kind: str, limit: int) -> None:
        self.kind, self.limit = kind, limit
        super().__init__({"": f"{kind} nested more than {limit} levels deep"})


class SubstitutionError(RunnerError):
    """A ``$var`` that is not defined, a bad ``${func()}`` call, or a circular reference."""


class TestcaseNotFound(RunnerError):
    """Raised by a ``resolve_testcase`` callable when a referenced testcase does not exist."""

    __test__ = False


class OutboundRefused(RunnerError):
    """A request the SSRF guard refuses (private/loopback/metadata address, bad scheme)."""


class PathError(Exception):
    """A path that cannot be evaluated against this response (e.g. body is not JSON).
    ``kind`` is the step's error_type: invalid_json, or too_large for a bound reached.
    Here, not in paths.py, so jmespath_bounded.py raises it without importing paths.py back."""

    def __init__(self, message: str, kind: str = "invalid_json") -> None:
        super().__init__(message)
        self.kind = kind
