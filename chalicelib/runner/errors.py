"""Typed errors of the runner. The app maps them to HTTP answers; none of them is a 500."""

from __future__ import annotations


class RunnerError(Exception):
    """Base of every error the runner raises on purpose."""


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


class SubstitutionError(RunnerError):
    """A ``$var`` that is not defined, a bad ``${func()}`` call, or a circular reference."""


class TestcaseNotFound(RunnerError):
    """Raised by a ``resolve_testcase`` callable when a referenced testcase does not exist."""

    __test__ = False


class OutboundRefused(RunnerError):
    """A request the SSRF guard refuses (private/loopback/metadata address, bad scheme)."""
