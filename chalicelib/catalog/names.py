"""Names: the case-folded prefix a list filters by, and the refusal of a taken one.

Names are unique case-insensitively among siblings (a project's among its owner's, a module's
in its project, a test case's in its module), held by a NameClaim written in the same
transaction as the item (catalog/models.py).
"""
from __future__ import annotations

from chalicelib.catalog.schemas import MAX_NAME_CHARS
from chalicelib.core.errors import Conflict, ValidationFailed
from chalicelib.core.ids import fold

NAME_FILTER_READ_AHEAD = 200  # items a filtered list page may read to fill itself


def name_prefix(value: str | None) -> str | None:
    """`?name=` as the folded prefix lists filter by (None: no filter); 400 when too long."""
    if not value:
        return None
    if len(value) > MAX_NAME_CHARS:
        raise ValidationFailed({"name": f"at most {MAX_NAME_CHARS} characters"})
    return fold(value)


def name_taken(what: str, name: str) -> Conflict:
    return Conflict(f"a {what} named {name!r} already exists", code="name_taken",
                    fields={"name": "already taken"})
