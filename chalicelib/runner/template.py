"""``$var``, ``${var}``, ``${func(args)}`` and ``$$`` in strings, as HttpRunner 3 reads them.

Parsing is a small hand-written scanner (no eval, not even ast.literal_eval): a string becomes
a tuple of parts (literal text, variable reference, function call) that is cached, so a
testcase run many times parses each string once. A string that is exactly one reference
keeps the referenced value's type (``"$count"`` -> 3); anything else renders to text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.runner._cache import text_cache
from chalicelib.runner.errors import SubstitutionError
from chalicelib.runner.functions import FunctionContext, call_function

# A rendered string longer than this is refused: variables referring to variables could
# otherwise double a string at each level until the worker runs out of memory.
MAX_RENDERED_CHARS = 1_000_000
# What one scope (a testcase's config, one attempt of a step) may render in all, in units
# of about a character of JSON, every reference counted in full each time it is made:
# lists that reference each other twice per level share their parts in memory, but double
# at every level as soon as they are sent, printed or compared. Above the largest response
# a step may read (10 MB), so a step can still send back what it received.
MAX_RENDERED_SIZE = 12_000_000
MAX_VARIABLE_DEPTH = 64  # a: $b, b: $c, ... resolved inside one another, at most this deep
MAX_NUMBER_CHARS = 400  # a literal number argument, e.g. round(x, -20000000)

# Later HttpRunner releases require a letter or underscore first, so "$100" stays a price.
_FUNC = re.compile(r"\$\{([A-Za-z_]\w*)\(([^(){}]*)\)\}")
_VAR = re.compile(r"\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)")
_KWARG = re.compile(r"([A-Za-z_]\w*)\s*=(?!=)\s*(.+)", re.S)  # "k=" alone is base64 text
_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")
_LITERALS: dict[str, Any] = {
    "True": True, "true": True, "False": False, "false": False, "None": None, "null": None,
}


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]  # each a plain value or a Parts tuple (an argument with $refs)
    kwargs: tuple[tuple[str, Any], ...]


Part = str | Var | Call
Parts = tuple[Part, ...]


class _Arg(tuple[Any, ...]):
    """Marks an argument that still holds references, so it is not taken for a value."""


def _split_args(text: str) -> list[str]:
    # commas split arguments except inside quotes
    out: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ",":
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def _arg_value(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if "$" in text:
        return _Arg(parse(text))
    if text in _LITERALS:
        return _LITERALS[text]
    if _INT.fullmatch(text):
        if len(text) > MAX_NUMBER_CHARS:
            raise SubstitutionError(f"a number argument of {len(text)} digits; at most "
                                    f"{MAX_NUMBER_CHARS}")
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _parse_call(name: str, raw_args: str) -> Call:
    args: list[Any] = []
    kwargs: list[tuple[str, Any]] = []
    if raw_args.strip():
        for raw in _split_args(raw_args):
            stripped = raw.strip()
            kw = None if stripped[:1] in ("'", '"') else _KWARG.fullmatch(stripped)
            if kw:
                kwargs.append((kw.group(1), _arg_value(kw.group(2))))
            elif kwargs:
                raise SubstitutionError(f"${{{name}(...)}}: positional argument after keyword")
            else:
                args.append(_arg_value(raw))
    return Call(name, tuple(args), tuple(kwargs))


@text_cache(maxsize=8192)
def parse(text: str) -> Parts:
    """Split a string into literal text, Var and Call parts."""
    parts: list[Part] = []
    literal: list[str] = []
    pos = 0
    while True:
        dollar = text.find("$", pos)
        if dollar < 0:
            literal.append(text[pos:])
            break
        literal.append(text[pos:dollar])
        if text.startswith("$$", dollar):
            literal.append("$")
            pos = dollar + 2
            continue
        match = _FUNC.match(text, dollar)
        if match:
            token: Part = _parse_call(match.group(1), match.group(2))
        else:
            match = _VAR.match(text, dollar)
            if not match:
                literal.append("$")
                pos = dollar + 1
                continue
            token = Var(match.group(1) or match.group(2))
        if any(literal):
            parts.append("".join(literal))
        literal = []
        parts.append(token)
        pos = match.end()
    if any(literal):
        parts.append("".join(literal))
    return tuple(parts)


def iter_references(text: str) -> Iterator[Var | Call]:
    """Every Var and Call in a string, arguments included (for save-time checks)."""
    if "$" not in text:
        return
    stack: list[Parts] = [parse(text)]
    while stack:
        for part in stack.pop():
            if isinstance(part, str):
                continue
            yield part
            if isinstance(part, Call):
                values = [*part.args, *(v for _, v in part.kwargs)]
                stack.extend(v for v in values if isinstance(v, _Arg))


def call_source(call: Call) -> str:
    """A call as a testcase writes it, arguments included: ``${sum_two(1, $x)}``."""
    def shown(value: Any) -> str:
        if isinstance(value, _Arg):
            return "".join(part if isinstance(part, str) else f"${part.name}" if isinstance(part, Var)
                           else call_source(part) for part in value)
        if value is None or isinstance(value, bool):
            return repr(value)
        return str(value)

    args = [shown(v) for v in call.args] + [f"{k}={shown(v)}" for k, v in call.kwargs]
    return f"${{{call.name}({', '.join(args)})}}"


Lookup = Callable[[str], Any]
_MISSING = object()


def render_parts(parts: Parts, lookup: Lookup, ctx: FunctionContext) -> Any:
    # every request of every step comes through here: type() tests, Var resolved inline
    if len(parts) == 1:
        part = parts[0]
        if type(part) is Var:
            return lookup(part.name)
        if isinstance(part, Call):
            return _call(part, lookup, ctx)
    pieces = []
    for part in parts:
        if type(part) is str:
            pieces.append(part)
        elif type(part) is Var:
            pieces.append(str(lookup(part.name)))
        elif isinstance(part, Call):  # the only kind left
            pieces.append(str(_call(part, lookup, ctx)))
    rendered = "".join(pieces)
    if len(rendered) > MAX_RENDERED_CHARS:
        raise SubstitutionError(f"a substituted string exceeds {MAX_RENDERED_CHARS} characters")
    return rendered


def _call(part: Call, lookup: Lookup, ctx: FunctionContext) -> Any:
    def value(arg: Any) -> Any:
        return render_parts(arg, lookup, ctx) if isinstance(arg, _Arg) else arg

    args = [value(a) for a in part.args]
    kwargs = {k: value(v) for k, v in part.kwargs}
    result = call_function(part.name, args, kwargs, ctx)
    # a call's result counts like a reference: ${ENV(big)} or ${random_string(4096)} in
    # every field of a body would otherwise multiply what the document itself holds
    scope = getattr(lookup, "__self__", None)
    return scope.charge(result) if type(scope) is Scope else result


class _Over(Exception):
    """expanded_size's walk passed its limit."""


def expanded_size(value: Any, limit: int) -> int:
    """About how many characters ``value`` takes as JSON, a shared part counted every time
    it appears (a list holding another twice per level doubles per level).

    A container seen before in the same walk adds its known size without being walked
    again, and the walk stops once the count passes ``limit``: it costs at most the
    distinct values below the limit, however much they share.
    """
    memo: dict[int, int] = {}  # id -> size of the containers walked (alive meanwhile)
    seen = 0

    def walk(item: Any) -> None:
        nonlocal seen
        kind = type(item)
        if kind is str:
            seen += len(item) + 2
        elif kind is list or kind is tuple or kind is dict:
            known = memo.get(id(item))
            if known is not None:
                seen += known
            else:
                before = seen
                if kind is dict:
                    seen += 3 * len(item) + 2
                    for key, child in item.items():
                        seen += len(key) if type(key) is str else 8
                        if type(child) is str:
                            seen += len(child) + 2
                        else:
                            walk(child)
                        if seen > limit:
                            raise _Over
                else:
                    seen += len(item) + 2  # brackets and separators
                    for child in item:
                        if type(child) is str:
                            seen += len(child) + 2
                        else:
                            walk(child)
                        if seen > limit:
                            raise _Over
                memo[id(item)] = seen - before
        elif kind is int:
            seen += item.bit_length() // 3 + 1  # about its digits
        else:
            seen += 8  # a float, true, false, null (or what else a caller hands over)
        if seen > limit:
            raise _Over

    try:
        walk(value)
    except _Over:
        return seen
    except RecursionError:  # nested past what JSON or a comparison could go through
        return limit + 1
    return seen


def rendered_size_error(limit: int) -> SubstitutionError:
    return SubstitutionError(
        f"the values substituted here exceed {limit} characters in all (every reference "
        "counted in full): variables that reference each other can multiply a value at "
        "every level"
    )


def render(content: Any, lookup: Lookup, ctx: FunctionContext) -> Any:
    """Substitute references everywhere in a JSON-like value (dict keys included).

    Dicts and lists come back as new containers; text without ``$`` and other values
    come back as they are.
    """
    if isinstance(content, str):
        if "$" not in content:
            return content
        return render_parts(parse(content), lookup, ctx)
    if isinstance(content, dict):
        out = {}
        for key, value in content.items():
            if type(key) is not str or "$" in key:
                key = render(key, lookup, ctx)
            if type(value) is str:
                out[key] = render_parts(parse(value), lookup, ctx) if "$" in value else value
            else:
                out[key] = render(value, lookup, ctx)
        return out
    if isinstance(content, list):
        return [render(item, lookup, ctx) for item in content]
    return content


class Scope:
    """Variables being defined (``raw``, may reference each other) over known values.

    ``raw`` entries are rendered lazily and once, in any order, so ``a: $b`` works whatever
    the order of ``a`` and ``b``; a cycle is an error, as in HttpRunner. ``outer`` values are
    taken as they are: an extracted value or an environment secret containing ``$`` is data,
    not a template.
    """

    __slots__ = ("_raw", "_outer", "_ctx", "_done", "_resolving", "_left")

    def __init__(
        self, raw: Mapping[str, Any], outer: Mapping[str, Any], ctx: FunctionContext
    ) -> None:
        self._raw = raw
        self._outer = outer
        self._ctx = ctx
        self._done: dict[str, Any] = {}
        self._resolving: list[str] | None = None  # most scopes never need one
        self._left = MAX_RENDERED_SIZE  # what references may still bring in (see charge)

    def lookup(self, name: str) -> Any:
        value = self._done.get(name, _MISSING)
        if value is _MISSING:
            if name in self._raw:
                value = self._resolve(name)
            else:
                value = self._outer.get(name, _MISSING)
                if value is _MISSING:
                    raise SubstitutionError(f"variable ${name} is not defined")
        # charge, inlined for the usual short text: every reference counts in full
        if type(value) is str:
            self._left -= len(value)
            if self._left < 0:
                raise rendered_size_error(MAX_RENDERED_SIZE)
            return value
        return self.charge(value)

    def charge(self, value: Any) -> Any:
        """Count a value brought into what this scope renders; SubstitutionError once the
        scope's total passes MAX_RENDERED_SIZE, before anything that big is built."""
        kind = type(value)
        if kind is str:
            cost = len(value)
        elif kind is int:
            cost = value.bit_length() >> 2
        elif kind is float or kind is bool or value is None:
            return value
        else:
            cost = expanded_size(value, self._left)
        self._left -= cost
        if self._left < 0:
            raise rendered_size_error(MAX_RENDERED_SIZE)
        return value

    def substituted(self) -> int:
        """How much the references of this scope brought in so far (see charge)."""
        return MAX_RENDERED_SIZE - self._left

    def overlay(self, values: Mapping[str, Any]) -> None:
        """Values (a step's extracts) that win over every other name from now on."""
        self._done.update(values)

    def _resolve(self, name: str) -> Any:
        resolving = self._resolving
        if resolving is None:
            resolving = self._resolving = []
        if name in resolving:
            chain = " -> ".join([*resolving[resolving.index(name):], name])
            raise SubstitutionError(f"circular variable reference: {chain}")
        if len(resolving) >= MAX_VARIABLE_DEPTH:
            raise SubstitutionError(
                f"variables reference each other more than {MAX_VARIABLE_DEPTH} deep "
                f"(${resolving[0]} -> ${resolving[1]} -> ...)"
            )
        resolving.append(name)
        try:
            value = render(self._raw[name], self.lookup, self._ctx)
        finally:
            resolving.pop()
        self._done[name] = value
        return value

    def define(self, name: str, value: Any) -> None:
        """Set a variable from outside the document (a hook's ``{"var": ...}`` result)."""
        self._done[name] = value

    def resolve_all(self) -> dict[str, Any]:
        """Every variable visible here, rendered: outer values overlaid by raw ones."""
        merged = dict(self._outer)
        for name in self._raw:
            merged[name] = self.lookup(name)
        return merged

    def render(self, content: Any) -> Any:
        return render(content, self.lookup, self._ctx)
