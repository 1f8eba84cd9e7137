"""Response paths used by ``extract`` and ``validate``: ``status_code``, ``headers.X``,
``cookies.X``, ``body``, ``body.a.b[0]`` and any other JMESPath over those four roots.

Plain dotted paths (the vast majority) are walked directly, which is faster than JMESPath and
lets ``headers.Content-Type`` work without quotes and case-insensitively; anything fancier
(filters, functions, wildcards, pipes) goes to JMESPath, imported only then.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.runner._cache import text_cache
from chalicelib.runner.errors import PathError

ROOTS = ("status_code", "headers", "cookies", "body")
# the response time: ``elapsed_ms``, and HttpRunner's ``elapsed.total_seconds`` (requests'
# timedelta); checked like any value, with any comparator
TIMING_ROOTS = ("elapsed_ms", "elapsed")
# HttpRunner 2's names of the body, which HttpRunner 3.1.11 still reads as ``body`` (and
# har2case writes): ``content.token`` is ``body.token``
ROOT_ALIASES = {"content": "body", "json": "body"}

# Root names of HttpRunner 2 and usual slips; HttpRunner 3 silently compares them as text.
_SLIPS = {
    "text": "body", "response": "body", "resp": "body",
    "status": "status_code", "statuscode": "status_code", "code": "status_code",
    "status_code_": "status_code", "header": "headers", "cookie": "cookies",
}
_HEAD = re.compile(r"[A-Za-z_]\w*")
_SEGMENT = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^.\[\]"\s|*?@&()!=<>{}`,]+))|\[(-?\d+)\]')
_PATHLIKE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_][\w-]*|\[\d+\])+")


@dataclass(frozen=True)
class Path:
    text: str
    root: str
    segments: tuple[str | int, ...] | None  # None: evaluate ``text`` with JMESPath


@text_cache(maxsize=4096)
def leading_root(expr: str) -> str | None:
    """The root a check expression starts with exactly, if any (``content``/``json``
    read as ``body``)."""
    match = _HEAD.match(expr)
    if not match:
        return None
    head = match.group(0)
    return head if head in ROOTS or head in TIMING_ROOTS else ROOT_ALIASES.get(head)


@text_cache(maxsize=4096)
def compile_path(expr: str) -> Path:
    """Parse a response path; ValueError with a human message if it is not one."""
    root = leading_root(expr)
    if root is None:
        raise ValueError(f"{expr!r} does not start with one of {', '.join(ROOTS)}")
    if not expr.startswith(root):  # an alias: the path as HttpRunner 3 reads it
        expr = root + expr[len(_HEAD.match(expr).group(0)):]  # type: ignore[union-attr]
    pos = len(root)
    segments: list[str | int] = []
    while pos < len(expr):
        match = _SEGMENT.match(expr, pos)
        if not match:
            break
        quoted, bare, index = match.groups()
        if index is not None:
            segments.append(int(index))
        else:
            segments.append(bare if bare is not None else re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    if root in TIMING_ROOTS:
        if pos != len(expr) or (root == "elapsed") != (tuple(segments) == ("total_seconds",)) \
                or (root == "elapsed_ms" and segments):
            raise ValueError(f"{expr!r}: the response time is elapsed_ms or elapsed.total_seconds")
        return Path(expr, root, tuple(segments))
    if pos == len(expr):
        return Path(expr, root, tuple(segments))
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expr)
    except JMESPathError as exc:
        raise ValueError(f"{expr!r} is not a valid path: {exc}") from None
    return Path(expr, root, None)


@text_cache(maxsize=4096)
def check_path(expr: str) -> Path | None:
    """The response path a check names, or None when it is compared as literal text
    (it does not start with a root); ValueError when it starts with one but is no path."""
    return compile_path(expr) if leading_root(expr) is not None else None


@text_cache(maxsize=4096)
def path_problem(expr: str) -> str | None:
    """Why a check/extract string that is not a response path looks like a broken one.

    HttpRunner compares such a string as a literal, so ``{"eq": ["status", 200]}`` fails
    forever with no hint; we refuse it at save time instead.
    """
    if "$" in expr:
        return None  # resolved at run time from variables
    if leading_root(expr):
        try:
            compile_path(expr)
        except ValueError as exc:
            return str(exc)
        return None
    match = _HEAD.match(expr)
    if not match:
        return None
    head = match.group(0)
    suggestion = _SLIPS.get(head.lower())
    if suggestion is None and head.lower() in ROOTS:
        suggestion = head.lower()
    if suggestion is None:
        suggestion = next((r for r in ROOTS if head.startswith(r)), None)
    if suggestion is None:
        close = difflib.get_close_matches(head.lower(), ROOTS, n=1, cutoff=0.7)
        suggestion = close[0] if close else None
    if suggestion is not None:
        return (
            f"{expr!r} is not a response path; did you mean {suggestion + expr[len(head):]!r}? "
            f"Paths start with {', '.join(ROOTS)} (anything else is compared as literal text)"
        )
    if _PATHLIKE.fullmatch(expr):
        return (
            f"{expr!r} looks like a path but does not start with {', '.join(ROOTS)}; "
            f"write body.{expr} for a field of the JSON body"
        )
    return None


def header(headers: dict[str, str], name: Any) -> str | None:
    """A response header by name, whatever its case (``headers.content-type``).

    Headers stay a plain dict with the server's spelling: JMESPath expressions see the
    names as sent, and a dict of strings costs the garbage collector nothing in a report.
    """
    if type(name) is not str:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()  # a few headers: a scan beats keeping a second mapping
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


@dataclass(slots=True)
class ResponseData:
    status_code: int
    headers: dict[str, str]  # as the server spelled them; read them with header()
    cookies: dict[str, str]
    body: Any  # parsed JSON, or the text when the body is not JSON, or None when empty
    body_error: str | None = None  # why the body is not JSON, when it is not
    elapsed_ms: float = 0.0  # from sending the request to the whole response read


def _walk(value: Any, segments: tuple[str | int, ...]) -> Any:
    for seg in segments:
        if isinstance(seg, int):
            if not isinstance(value, list) or not -len(value) <= seg < len(value):
                return None
            value = value[seg]
        elif isinstance(value, dict):
            value = value.get(seg)
        elif isinstance(value, list) and seg.isdigit() and int(seg) < len(value):
            value = value[int(seg)]  # HttpRunner 2 wrote list indexes as body.items.0
        else:
            return None
    return value


def evaluate(path: Path, response: ResponseData) -> Any:
    """The value at a response path; None where it leads nowhere (JMESPath semantics)."""
    if path.root == "body" and response.body_error and (path.segments or path.segments is None):
        raise PathError(f"cannot evaluate {path.text}: {response.body_error}")
    if path.segments is None:
        data = {
            "status_code": response.status_code,
            "headers": response.headers,
            "cookies": response.cookies,
            "body": response.body,
            "elapsed_ms": response.elapsed_ms,
        }
        from chalicelib.runner.jmespath_bounded import search

        return search(path.text, data)
    name = path.root
    if name == "body":
        root: Any = response.body
    elif name == "status_code":
        root = response.status_code
    elif name == "elapsed_ms":
        return response.elapsed_ms
    elif name == "elapsed":
        return response.elapsed_ms / 1000
    elif name == "headers":
        if path.segments:
            first = path.segments[0]
            value = header(response.headers, first)
            return _walk(value, path.segments[1:])
        root = response.headers
    else:
        root = response.cookies
    return _walk(root, path.segments) if path.segments else root
