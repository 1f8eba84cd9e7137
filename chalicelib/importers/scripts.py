"""The common shapes of Postman test scripts, as validators and extracts.

Scripts are JavaScript; only a handful of shapes are read, by linear scanners (no regex
over the script): statements are split at `;` and line ends outside quotes and brackets,
`pm.test(name, function () { ... })` is opened, and each statement is read as a call
chain (`pm.expect(x).to.eql(200)` -> pm, expect(x), to, eql(200)). Anything else is
returned as not converted, so the report lists it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.importers.common import MALFORMED

MAX_SCRIPT_CHARS = 100_000
MAX_NESTING = 4  # pm.test blocks inside pm.test blocks
_OPEN, _CLOSE = "([{", ")]}"
# chai's language chains: they read well and mean nothing
_LANGUAGE = {
    "to",
    "be",
    "been",
    "is",
    "that",
    "which",
    "and",
    "has",
    "have",
    "with",
    "at",
    "of",
    "same",
    "but",
    "does",
    "still",
    "deep",
    "response_",
}
_EQUAL = {"eql", "equal", "equals", "eq"}
_COMPARISONS = {
    "include": "contains",
    "includes": "contains",
    "contain": "contains",
    "contains": "contains",
    "above": "greater_than",
    "gt": "greater_than",
    "greaterThan": "greater_than",
    "below": "less_than",
    "lt": "less_than",
    "lessThan": "less_than",
    "least": "greater_or_equals",
    "gte": "greater_or_equals",
    "most": "less_or_equals",
    "lte": "less_or_equals",
    "lengthOf": "length_equal",
    "length": "length_equal",
}
_TYPES = {
    "string": "str",
    "number": "number",
    "object": "dict",
    "array": "list",
    "boolean": "bool",
    "null": "None",
}
_SETTERS = {"environment", "collectionVariables", "globals", "variables"}


@dataclass
class Translated:
    validators: list[dict[str, list[Any]]] = field(default_factory=list)
    extract: dict[str, str] = field(default_factory=dict)
    not_converted: list[str] = field(default_factory=list)


class _Unsupported(Exception):
    pass


def split_statements(text: str) -> list[str]:
    """Split at `;` and newlines that are outside quotes, brackets and comments; linear."""
    out: list[str] = []
    current: list[str] = []
    depth, quote, i, n = 0, "", 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == "\\" and i + 1 < n:
                current.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif ch in _OPEN:
            depth += 1
            current.append(ch)
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
            current.append(ch)
        elif ch in ";\n" and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    out.append("".join(current).strip())
    return [s for s in out if s]


def _matching(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start` (quotes respected), or -1."""
    depth, quote, i = 0, "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_args(text: str) -> list[str]:
    args, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    last = text[start:].strip()
    if last or args:
        args.append(last)
    return args


def chain(text: str) -> list[tuple[str, list[str] | None]]:
    """`a.b(x, y)[0].c` -> [("a", None), ("b", ["x", "y"]), ("[0]", None), ("c", None)]."""
    parts: list[tuple[str, list[str] | None]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == ".":
            i += 1
            continue
        if ch == "[":
            end = _matching(text, i)
            if end < 0:
                raise _Unsupported
            parts.append((text[i : end + 1], None))
            i = end + 1
            continue
        if ch == "(":
            end = _matching(text, i)
            if end < 0 or not parts or parts[-1][1] is not None:
                raise _Unsupported
            parts[-1] = (parts[-1][0], _split_args(text[i + 1 : end]))
            i = end + 1
            continue
        start = i
        while i < n and (text[i].isalnum() or text[i] in "_$"):
            i += 1
        if i == start:
            raise _Unsupported
        parts.append((text[start:i], None))
    return parts


def js_literal(text: str) -> Any:
    """A JavaScript literal as a JSON value: numbers, strings ('...' too), true/false/null, JSON."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'`" and text[0] not in text[1:-1]:
        return text[1:-1]
    if text == "undefined":
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise _Unsupported from None


def _segment(part: tuple[str, list[str] | None]) -> str:
    name, args = part
    if args is not None:
        raise _Unsupported
    if name.startswith("["):
        inner = js_literal(name[1:-1])
        if isinstance(inner, int) and not isinstance(inner, bool):
            return f"[{inner}]"
        if isinstance(inner, str):
            return "." + (inner if inner.isidentifier() else json.dumps(inner))
        raise _Unsupported
    return "." + name


class _Reader:
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # a script variable -> the response path it holds
        self.out = Translated()

    def path(self, text: str) -> str:
        """A response path from pm.response.json().a, jsonData.a[0], pm.response.code..."""
        parts = chain(text.strip())
        if not parts:
            raise _Unsupported
        head, rest = parts[0], parts[1:]
        if head[0] in self.aliases and head[1] is None:
            base = self.aliases[head[0]]
        elif head == ("JSON", None) and rest and rest[0][0] == "parse":
            base, rest = "body", rest[1:]
        elif head == ("pm", None) and rest[:1] == [("response", None)]:
            rest = rest[1:]
            if not rest:
                raise _Unsupported
            name, args = rest[0]
            if name == "json" and args == []:
                base, rest = "body", rest[1:]
            elif name == "code" and args is None:
                base, rest = "status_code", rest[1:]
            elif (
                name == "headers"
                and len(rest) > 1
                and rest[1][0] == "get"
                and rest[1][1]
                and len(rest[1][1]) == 1
            ):
                header = js_literal(rest[1][1][0])
                if not isinstance(header, str):
                    raise _Unsupported
                base, rest = f"headers.{header}", rest[2:]
            else:
                raise _Unsupported
        elif head == ("responseCode", None) and rest == [("code", None)]:
            return "status_code"
        else:
            raise _Unsupported
        return base + "".join(_segment(part) for part in rest)

    def statement(self, text: str, depth: int) -> None:
        for keyword in ("var ", "let ", "const "):
            if text.startswith(keyword):
                name, sep, value = text[len(keyword) :].partition("=")
                name = name.strip()
                if not sep or not name.isidentifier():
                    raise _Unsupported
                self.aliases[name] = self.path(value)
                return
        if text.startswith("tests[") or text.startswith("tests ["):
            self._legacy_test(text)
            return
        parts = chain(text)
        if len(parts) >= 2 and parts[:2] == [("pm", None), ("test", parts[1][1])] and parts[1][1] is not None:
            self._test_block(parts, depth)
            return
        if (
            parts[:1] == [("pm", None)]
            and len(parts) == 3
            and parts[1][0] in _SETTERS
            and parts[2][0] == "set"
            and parts[2][1]
            and len(parts[2][1]) == 2
        ):
            name = js_literal(parts[2][1][0])
            if not isinstance(name, str) or not name:
                raise _Unsupported
            from chalicelib.importers.common import variable_name

            self.out.extract[variable_name(name)] = self.path(parts[2][1][1])
            return
        words = [p for p in parts if p[0] not in _LANGUAGE]
        if words[:2] == [("pm", None), ("response", None)] and len(words) == 3:
            self._response_assertion(words[2])
            return
        if (
            words[:1] == [("pm", None)]
            and len(words) >= 3
            and words[1][0] == "expect"
            and words[1][1]
            and len(words[1][1]) == 1
        ):
            self._expectation(words[1][1][0], words[2:])
            return
        raise _Unsupported

    def _test_block(self, parts: list, depth: int) -> None:
        args = parts[1][1]
        if len(parts) != 2 or len(args) != 2 or depth >= MAX_NESTING:
            raise _Unsupported
        body = args[1].strip()
        for opener in ("function ()", "function()", "() =>", "()=>"):
            if body.startswith(opener):
                body = body[len(opener) :].strip()
                break
        else:
            raise _Unsupported
        if not (body.startswith("{") and body.endswith("}")):
            raise _Unsupported
        self.read(body[1:-1], depth + 1)

    def _response_assertion(self, word: tuple[str, list[str] | None]) -> None:
        name, args = word
        if name == "status" and args and len(args) == 1:
            status = js_literal(args[0])
            if isinstance(status, int) and not isinstance(status, bool):
                self.out.validators.append({"equal": ["status_code", status]})
                return
        if name == "header" and args and len(args) in (1, 2):
            header = js_literal(args[0])
            if not isinstance(header, str):
                raise _Unsupported
            if len(args) == 2:
                self.out.validators.append({"equal": [f"headers.{header}", self.expected(args[1])]})
            else:
                self.out.validators.append({"not_equal": [f"headers.{header}", None]})
            return
        if name == "ok" and args is None:
            self.out.validators.append({"greater_or_equals": ["status_code", 200]})
            self.out.validators.append({"less_than": ["status_code", 300]})
            return
        raise _Unsupported

    def expected(self, text: str) -> Any:
        """An expected value: a literal, or pm.environment.get("x") (any scope) as ${x}."""
        parts = chain(text.strip()) if text.strip()[:3] == "pm." else []
        if (
            len(parts) == 3
            and parts[1][0] in _SETTERS
            and parts[2][0] == "get"
            and parts[2][1]
            and len(parts[2][1]) == 1
        ):
            name = js_literal(parts[2][1][0])
            if isinstance(name, str) and name:
                from chalicelib.importers.common import variable_name

                return "${" + variable_name(name) + "}"
        from chalicelib.importers.common import literal_value

        return literal_value(js_literal(text))

    def _expectation(self, subject: str, words: list) -> None:
        check = self.path(subject)
        negated = False
        if words and words[0] == ("not", None):
            negated, words = True, words[1:]
        if len(words) != 1 or words[0][1] is None:
            raise _Unsupported
        name, args = words[0]
        if len(args) not in (1, 2):
            raise _Unsupported
        message = js_literal(args[1]) if len(args) == 2 else ""
        if name in ("a", "an"):
            kind = js_literal(args[0])
            if negated or kind not in _TYPES:
                raise _Unsupported
            comparator, expected = "type_match", _TYPES[kind]
        elif name in _EQUAL:
            comparator, expected = ("not_equal" if negated else "equal"), self.expected(args[0])
        elif name in _COMPARISONS and not negated:
            comparator, expected = _COMPARISONS[name], self.expected(args[0])
        else:
            raise _Unsupported
        values = [check, expected] + ([message] if isinstance(message, str) and message else [])
        self.out.validators.append({comparator: values})

    def _legacy_test(self, text: str) -> None:
        """tests["Status code is 200"] = responseCode.code === 200;"""
        _, sep, expression = text.partition("=")
        if not sep:
            raise _Unsupported
        left, sep, right = expression.partition("===")
        if not sep:
            left, sep, right = expression.partition("==")
        if not sep:
            raise _Unsupported
        self.out.validators.append({"equal": [self.path(left), self.expected(right)]})

    def read(self, text: str, depth: int = 0) -> None:
        for statement in split_statements(text):
            if statement in ("{", "}", "})", "});"):
                continue
            if statement.startswith("console.") or statement.startswith("//"):
                continue  # no effect on the verdict
            try:
                self.statement(statement, depth)
            except (_Unsupported, RecursionError, *MALFORMED):
                self.out.not_converted.append(statement[:300])


def translate(script: str) -> Translated:
    """The validators and extracts a Postman test script's supported lines amount to."""
    reader = _Reader()
    if len(script) > MAX_SCRIPT_CHARS:
        reader.out.not_converted.append(f"a script of {len(script)} characters (at most {MAX_SCRIPT_CHARS})")
        return reader.out
    reader.read(script)
    return reader.out
