"""The HttpRunner comparators and every alias HttpRunner 2 and 3 accept.

Each comparator returns ``None`` when the check passes and a human reason when it fails;
it never raises for a type mismatch (``None < 5``): a mismatch is a failed check, not a
crashed run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.runner._cache import text_cache

Comparator = Callable[[Any, Any], "str | None"]

# canonical name (HttpRunner 3 spelling) -> aliases, HttpRunner 2 spellings included so that
# old testcases keep working.
ALIASES: dict[str, tuple[str, ...]] = {
    "equal": ("eq", "equals", "==", "is"),
    "not_equal": ("ne", "not_equals"),
    "less_than": ("lt",),
    "less_or_equals": ("le", "less_than_or_equals"),
    "greater_than": ("gt",),
    "greater_or_equals": ("ge", "greater_than_or_equals"),
    "string_equals": ("str_eq",),
    "length_equal": ("len_eq", "length_equals", "count_eq"),
    "length_greater_than": ("len_gt", "count_gt", "count_greater_than"),
    "length_greater_or_equals": (
        "len_ge",
        "length_greater_than_or_equals",
        "count_ge",
        "count_greater_than_or_equals",
    ),
    "length_less_than": ("len_lt", "count_lt", "count_less_than"),
    "length_less_or_equals": (
        "len_le",
        "length_less_than_or_equals",
        "count_le",
        "count_less_than_or_equals",
    ),
    "contains": (),
    "contained_by": (),
    "type_match": (),
    "regex_match": (),
    "startswith": (),
    "endswith": (),
    "json_schema": ("matches_schema",),
}

# every accepted spelling -> canonical name
CANONICAL: dict[str, str] = {
    alias: name for name, aliases in ALIASES.items() for alias in (name, *aliases)
}


def canonical_comparator(name: str) -> str | None:
    """The canonical name of a comparator spelling, or None if HttpRunner has no such one."""
    return CANONICAL.get(name)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _cmp(op: Callable[[Any, Any], bool], symbol: str) -> Comparator:
    def compare(actual: Any, expected: Any) -> str | None:
        try:
            if op(actual, expected):
                return None
        except TypeError:
            return (
                f"cannot compare {type(actual).__name__} {_short(actual)} {symbol} "
                f"{type(expected).__name__} {_short(expected)}"
            )
        return f"expected {_short(actual)} {symbol} {_short(expected)}"

    return compare


def _length(op: Callable[[int, Any], bool], symbol: str) -> Comparator:
    def compare(actual: Any, expected: Any) -> str | None:
        # bool is an int subclass; HttpRunner compares lengths against numbers only
        if isinstance(expected, bool) or not isinstance(expected, (int, float)):
            return f"expected length must be a number, got {_short(expected)}"
        try:
            size = len(actual)
        except TypeError:
            return f"{type(actual).__name__} {_short(actual)} has no length"
        if op(size, expected):
            return None
        return f"expected length {size} {symbol} {_short(expected)}"

    return compare


def _string_equals(actual: Any, expected: Any) -> str | None:
    if str(actual) == str(expected):
        return None
    return f"expected str({_short(actual)}) == str({_short(expected)})"


def _contains(actual: Any, expected: Any) -> str | None:
    if not isinstance(actual, (list, dict, str)):
        return f"{type(actual).__name__} {_short(actual)} cannot contain anything"
    try:
        if expected in actual:
            return None
    except TypeError:
        return f"cannot look for {type(expected).__name__} in {type(actual).__name__}"
    return f"{_short(actual)} does not contain {_short(expected)}"


def _contained_by(actual: Any, expected: Any) -> str | None:
    if not isinstance(expected, (list, dict, str)):
        return f"expected value {_short(expected)} must be a list, object or string"
    try:
        if actual in expected:
            return None
    except TypeError:
        return f"cannot look for {type(actual).__name__} in {type(expected).__name__}"
    return f"{_short(actual)} is not contained by {_short(expected)}"


# JSON values only come in these Python types; the JSON Schema names are accepted as well
# because they are what API people think in.
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "integer": (int,),
    "float": (float,),
    "number": (int, float),
    "str": (str,),
    "string": (str,),
    "bool": (bool,),
    "boolean": (bool,),
    "list": (list,),
    "array": (list,),
    "dict": (dict,),
    "object": (dict,),
}
TYPE_NAMES = frozenset(_TYPES) | {"None", "NoneType", "null"}


def _type_match(actual: Any, expected: Any) -> str | None:
    if expected is None or expected in ("None", "NoneType", "null"):
        return None if actual is None else f"expected None, got {type(actual).__name__}"
    if not isinstance(expected, str) or expected not in _TYPES:
        return f"unknown type name {_short(expected)}; use one of {sorted(TYPE_NAMES)}"
    # exact type, as HttpRunner does: True is a bool, not an int
    if type(actual) in _TYPES[expected]:
        return None
    return f"expected type {expected}, got {type(actual).__name__}"


def _regex_match(actual: Any, expected: Any) -> str | None:
    if not isinstance(expected, str) or not isinstance(actual, str):
        return "regex_match needs a string value and a string pattern"
    from chalicelib.runner.regex import compile_user_regex

    try:
        pattern = compile_user_regex(expected)
    except ValueError as exc:
        return str(exc)
    if pattern.match(actual):
        return None
    return f"{_short(actual)} does not match {_short(expected)}"


def _startswith(actual: Any, expected: Any) -> str | None:
    if str(actual).startswith(str(expected)):
        return None
    return f"{_short(actual)} does not start with {_short(expected)}"


def _endswith(actual: Any, expected: Any) -> str | None:
    if str(actual).endswith(str(expected)):
        return None
    return f"{_short(actual)} does not end with {_short(expected)}"


MAX_SCHEMA_ERRORS = 3  # a failed check names at most this many places


def _json_schema(actual: Any, expected: Any) -> str | None:
    """The value matches a JSON Schema (2020-12; earlier drafts' documents mostly read the same)."""
    import json

    if not isinstance(expected, (dict, bool)):
        return f"expected value must be a JSON Schema (an object), got {_short(expected)}"
    try:
        key = json.dumps(expected, sort_keys=True)
    except (TypeError, ValueError):
        return "the schema is not JSON"
    validator = _schema_validator(key)
    if isinstance(validator, str):
        return validator
    try:
        errors = sorted(validator.iter_errors(actual), key=lambda e: [str(p) for p in e.absolute_path])
        errors = errors[:MAX_SCHEMA_ERRORS]
    except Exception as exc:  # noqa: BLE001 - a schema jsonschema cannot apply (bad $ref...) fails the check
        return f"the schema cannot be applied: {_short(str(exc))}"
    if not errors:
        return None
    return "; ".join(f"at {_schema_path(e.absolute_path)}: {_short(e.message)}" for e in errors)


def _schema_path(parts: Any) -> str:
    text = "body"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


@text_cache(maxsize=256)
def _schema_validator(key: str) -> Any:
    """A compiled validator for a schema's text, or why there is none (cached: a testcase
    checks the same schema on every run). Its regex keywords run in re2 (linear time)."""
    import json

    from jsonschema import Draft202012Validator, SchemaError, validators

    schema = json.loads(key)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"not a valid JSON Schema: {_short(exc.message)}"
    # types-jsonschema leaves validators.extend untyped
    linear = validators.extend(Draft202012Validator, {  # type: ignore[no-untyped-call]
        "pattern": _pattern, "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    })
    return linear(schema)


def _search(pattern: str, text: str) -> bool:
    return _re2(pattern).search(text) is not None


@text_cache(maxsize=256)
def _re2(pattern: str) -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    from jsonschema import ValidationError

    if validator.is_type(instance, "string"):
        try:
            matched = _search(pattern, instance)
        except Exception:  # noqa: BLE001 - re2 refuses backreferences and lookarounds
            yield ValidationError(f"pattern {pattern!r} is not supported (no backreferences or lookarounds)")
            return
        if not matched:
            yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, extra_schema: Any, instance: Any, schema: Any) -> Any:
    from jsonschema import ValidationError

    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in properties
              and not any(_search(pattern, key) for pattern in patterns)]
    if validator.is_type(extra_schema, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra_schema, path=key)
    elif extra_schema is False and extras:
        names = ", ".join(map(repr, sorted(extras)))
        yield ValidationError(f"additional properties are not allowed ({names})")


COMPARATORS: dict[str, Comparator] = {
    "equal": _cmp(lambda a, e: a == e, "=="),
    "not_equal": _cmp(lambda a, e: a != e, "!="),
    "less_than": _cmp(lambda a, e: a < e, "<"),
    "less_or_equals": _cmp(lambda a, e: a <= e, "<="),
    "greater_than": _cmp(lambda a, e: a > e, ">"),
    "greater_or_equals": _cmp(lambda a, e: a >= e, ">="),
    "string_equals": _string_equals,
    "length_equal": _length(lambda n, e: n == e, "=="),
    "length_greater_than": _length(lambda n, e: n > e, ">"),
    "length_greater_or_equals": _length(lambda n, e: n >= e, ">="),
    "length_less_than": _length(lambda n, e: n < e, "<"),
    "length_less_or_equals": _length(lambda n, e: n <= e, "<="),
    "contains": _contains,
    "contained_by": _contained_by,
    "type_match": _type_match,
    "regex_match": _regex_match,
    "startswith": _startswith,
    "endswith": _endswith,
    "json_schema": _json_schema,
}


def compare(comparator: str, actual: Any, expected: Any) -> str | None:
    """Run one comparator (any alias); None when it passes, else why it failed."""
    return COMPARATORS[CANONICAL[comparator]](actual, expected)
