"""Bounded parsers for everything a client sends: JSON, YAML and form bodies.

Nesting depth is checked BEFORE the C loaders see the text, by linear scans that do
not recurse: libyaml's composer recurses once per level and overflows the C stack tens
of thousands of levels down (a segfault, not an exception), and json's C scanner
answers RecursionError about a thousand levels down. A document deeper than
`HAT_MAX_JSON_DEPTH` (64) is refused with `TooDeep`, a 400 naming the limit.

JSON is also held to what JSON is (RFC 8259): no NaN / Infinity (Python's json takes
and echoes them; no other JSON parser reads them back), strict UTF-8 (json.loads of
bytes lets encoded surrogates through), and no lone surrogate escape ("\\ud800"), which
would parse and then fail every later UTF-8 encode with a 500.

The routes' bodies (core/validation.py), the CI webhook, the test case import and the
importers use these, not json / yaml / urllib directly.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import BadRequest
from chalicelib.runner.nesting import json_deeper_than

if TYPE_CHECKING:
    from yaml import CSafeLoader, SafeLoader

MAX_FORM_FIELDS = 100


class TooDeep(BadRequest):
    code = "too_deep"


class InvalidJson(BadRequest):
    code = "invalid_json"


class InvalidYaml(BadRequest):
    code = "invalid_yaml"


def max_depth() -> int:
    from chalicelib.core.settings import get_settings

    return get_settings().max_json_depth


def too_deep(kind: str, limit: int, field: str) -> TooDeep:
    message = f"{kind} is nested more than {limit} levels deep (HAT_MAX_JSON_DEPTH)"
    return TooDeep(message, fields={field: message})


def check_json_depth(text: str, *, limit: int | None = None, field: str = "body") -> None:
    limit = max_depth() if limit is None else limit
    if json_deeper_than(text, limit):
        raise too_deep("JSON", limit, field)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (JSON, RFC 8259, has no NaN or Infinity)")


def _has_lone_surrogate(document: object) -> bool:
    """Any str (key or value) in the parsed document with a surrogate no UTF-8 can carry."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def load_json_bounded(text: str | bytes, *, field: str = "body", limit: int | None = None) -> Any:
    """Parse client JSON: strict UTF-8, depth <= HAT_MAX_JSON_DEPTH, no NaN/Infinity, no
    lone surrogates; else a 400 (`invalid_json`, or `too_deep` naming the limit)."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidJson(f"{field} is not UTF-8: byte {error.start} is not valid",
                              fields={field: "must be UTF-8"}) from None
    check_json_depth(text, limit=limit, field=field)
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # only if the limit is set above what json's C scanner can nest
        raise too_deep("JSON", max_depth() if limit is None else limit, field) from None
    except ValueError as error:
        raise InvalidJson(f"{field} is not valid JSON: {error}", fields={field: str(error)}) from None
    if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(document):
        message = "has a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair)"
        raise InvalidJson(f"{field} {message}", fields={field: message})
    return document


def check_yaml_depth(text: str, *, limit: int | None = None, field: str = "body") -> None:
    """Walk libyaml's event stream (a state machine with its own stack: no recursion) and
    stop at the first collection deeper than the limit, before any composer runs."""
    from chalicelib.runner.nesting import yaml_deeper_than

    limit = max_depth() if limit is None else limit
    if yaml_deeper_than(text, limit):
        raise too_deep("YAML", limit, field)


def load_yaml_bounded(text: str, *, field: str = "body", limit: int | None = None,
                      loader: type[SafeLoader | CSafeLoader] | None = None) -> Any:
    """Parse client YAML with a safe loader (`loader`, a SafeLoader subclass, or libyaml's
    CSafeLoader), after the depth check; a YAML error is a 400 with its line and column."""
    import yaml

    check_yaml_depth(text, limit=limit, field=field)
    if loader is None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader only
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InvalidYaml(f"{field} is not valid YAML{where}: {error.problem}",
                          fields={field: f"invalid YAML{where}: {error.problem}"}) from None
    except yaml.YAMLError as error:
        raise InvalidYaml(f"{field} is not valid YAML: {error}", fields={field: "invalid YAML"}) from None


def load_form_bounded(raw: bytes | None, *, max_fields: int = MAX_FORM_FIELDS) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (flat, so only its size and field count
    need bounds: the body limit and `max_fields`); strict UTF-8."""
    from urllib.parse import parse_qsl

    try:
        text = (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form body is not UTF-8", code="invalid_form",
                         fields={"body": "must be UTF-8"}) from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise BadRequest(f"the form has more than {max_fields} fields", code="invalid_form",
                         fields={"body": f"at most {max_fields} fields"}) from None
    return dict(pairs)
