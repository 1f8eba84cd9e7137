"""Bounded reading of the sources' JSON and YAML, behind `load_structured`.

The C loaders recurse once per nesting level and overflow the C stack on deep input (a
segfault, not an exception), so depth is checked before they see the text, by scans that
do not recurse: for JSON, brackets outside strings; for YAML, libyaml's event stream (a
state machine with its own stack). YAML aliases can make a small text a huge tree: the
loaded value is walked with a visit budget before any converter reads it.

When core's bounded loaders land (core/parsing.py), this module is the one place to swap.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.importers.common import SourceInvalid
from chalicelib.runner.nesting import json_deeper_than, yaml_deeper_than

MAX_SOURCE_CHARS = 10_000_000
MAX_DEPTH = 100
MAX_NODES = 500_000  # values in the loaded tree, aliases counted each time they are used

def _too_deep() -> SourceInvalid:
    return SourceInvalid({"body": f"nested more than {MAX_DEPTH} levels deep"})


def load_json(text: str) -> Any:
    if json_deeper_than(text, MAX_DEPTH):
        raise _too_deep()
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        raise SourceInvalid({"body": f"not valid JSON: {error}"}) from None
    _count_nodes(value)
    return value


def load_yaml(text: str) -> Any:
    import yaml

    from chalicelib.runner.schema import yaml_loader

    if yaml_deeper_than(text, MAX_DEPTH):
        raise _too_deep()
    try:
        value = yaml.load(text, Loader=yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise SourceInvalid({"body": f"not valid YAML{where}: {error.problem}"}) from None
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        raise SourceInvalid({"body": f"not valid YAML: {error}"}) from None
    _count_nodes(value)
    return value


def load_structured(text: str) -> Any:
    """JSON (when it looks like JSON) or YAML, bounded in size, depth and node count."""
    if len(text) > MAX_SOURCE_CHARS:
        raise SourceInvalid({"body": f"longer than {MAX_SOURCE_CHARS} characters"})
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return load_json(stripped)
    return load_yaml(text)


def _count_nodes(value: Any) -> None:
    """Walk the tree without recursion; refuse it past MAX_NODES visits (alias bombs) or with
    keys that are not text (YAML allows them, JSON does not)."""
    stack = [value]
    visits = 0
    while stack:
        item = stack.pop()
        visits += 1
        if visits > MAX_NODES:
            raise SourceInvalid({"body": f"more than {MAX_NODES} values (after YAML aliases)"})
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    if not isinstance(key, (int, float, bool)) and key is not None:
                        raise SourceInvalid({"body": f"key {key!r} is not text"})
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
