"""The nesting depth of JSON text, by linear scans that do not recurse, and of YAML text, by
libyaml's event stream (pure: no imports of ours), so it can be checked before a C loader that
recurses per level sees the text. In the runner, the lowest layer, so its own reader of
testcase files (schema.parse_testcase_text), core/parsing.py (client bodies) and
importers/loading.py (import sources) share one walk."""

from __future__ import annotations

import re
from itertools import accumulate

_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def without_json_strings(text: str) -> str:
    """The text with every JSON string literal's contents removed, in one linear pass.

    Splitting at '"' leaves strings at odd indexes, except where a quote is escaped: a
    part ending in an odd run of backslashes continues the same string.
    """
    kept: list[str] = []
    inside = False
    for part in text.split('"'):
        if not inside:
            kept.append(part)
            inside = True
        elif (len(part) - len(part.rstrip("\\"))) % 2 == 0:
            inside = False  # this part's closing quote is a real one
    return "".join(kept)


def json_nesting_depth(text: str) -> int:
    """The deepest [ / { nesting outside string literals (C-speed: one regex deletion,
    then accumulate); 0 for text without brackets."""
    steps = _NOT_BRACKET.sub("", without_json_strings(text))
    return max(accumulate(map(_STEP.__getitem__, steps)), default=0)


def json_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON text nests deeper than `limit`: two counts answer the common case (no more
    brackets than the limit), the scan the rest."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return json_nesting_depth(text) > limit


def yaml_deeper_than(text: str, limit: int) -> bool:
    """Whether a YAML collection nests deeper than `limit`: libyaml's event stream is a state
    machine with its own stack (no recursion), stopped at the first collection too deep, before
    any composer runs. Text that does not parse answers False: its loader reports it, with the
    line and column."""
    if not any(mark in text for mark in "[{-:?"):
        return False  # no collection at all
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False
    return False
