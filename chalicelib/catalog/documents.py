"""A test case's document: HttpRunner v3 as the runner validates it, its size, its name.

Checked before anything is written (a 400 naming each bad path, 413 past the settings' limit);
a document that calls user code (`${fn()}`) is checked against the function names of the
project's debugtalk.py, asked of the caller's `functions_of` (catalog's own callers take them
from catalog/extensions.py, where chalicelib/sandbox provides them).
"""
from __future__ import annotations

import json
from collections.abc import Callable

from chalicelib.catalog.schemas import _name
from chalicelib.core.errors import PayloadTooLarge, ValidationFailed
from chalicelib.core.settings import get_settings


def document_size(document: object) -> int:
    """Bytes of the document's JSON; ValueError for what JSON cannot hold (NaN and infinities
    from YAML's .nan / .inf, or a lone surrogate)."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str,
                          allow_nan=False).encode())


def checked_document(document: object, *, prefix: str = "",
                     functions_of: Callable[[], frozenset[str] | None] | None = None,
                     ) -> tuple[object, int, int]:
    """(document, size in bytes, step count) of a valid HttpRunner v3 testcase; 413 when too
    big, 400 naming each bad path (under `prefix`) otherwise. `functions_of()`: the names of the
    project's debugtalk.py (None: it has none), asked only of a testcase that needs them."""
    from chalicelib.runner.schema import TestcaseInvalid, needs_user_code, validate_testcase

    limit = get_settings().testcase_max_bytes
    try:
        size = document_size(document)
    except ValueError:  # UnicodeEncodeError included
        raise ValidationFailed({prefix or "body": "NaN, infinities and lone surrogates are not JSON"}) \
            from None
    if size > limit:
        raise PayloadTooLarge(f"the test case is {size} bytes; at most {limit}", code="testcase_too_large")
    try:
        functions = functions_of() if functions_of and needs_user_code(document) else None
        model = validate_testcase(document, functions)
    except TestcaseInvalid as invalid:
        fields = {(f"{prefix}.{path}" if path else prefix) if prefix else (path or "body"): message
                  for path, message in invalid.fields.items()}
        raise ValidationFailed(fields, message=str(invalid)) from None
    return document, size, len(model.teststeps)


def testcase_name(name: str | None, document: dict, *, field: str) -> str:
    """`name`, or else the document's config.name (checked like a name: 400 at `field`)."""
    if name is not None:
        return name
    try:
        return _name(str(document["config"]["name"]))
    except ValueError as error:
        raise ValidationFailed({field: str(error)}) from None
