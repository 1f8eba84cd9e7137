"""What every converter shares: the conversion and its report, names, and `{{var}}` text.

A converter turns one source into `Conversion`: HttpRunner v3 testcase documents (each
with the group it came from: a Postman folder, an OpenAPI tag) and a report of what became
what, warnings, and everything not converted with the reason. `finish()` validates every
document with the runner's `validate_testcase`: one that fails is moved to
`not_converted` with the validator's reasons, so nothing is ever dropped silently and
nothing invalid is ever handed on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_TESTCASES = 1000  # converted testcases per source (the API's own limit is lower)
MAX_REPORT_ENTRIES = 2000  # entries per report list; past it one entry says how many more
MAX_NAME_CHARS = 100  # the catalog's limit on a test case or module name

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_NOT_WORD = re.compile(r"\W+")


# What reading a value of an unexpected shape raises (a list where an object belongs...): a
# converter catches these per item (request, entry, operation) and reports the item instead.
MALFORMED = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class SourceInvalid(Exception):
    """The source cannot be read as the format it claims; `fields` names where (a 400)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in fields.items()))
        self.fields = fields


@dataclass
class Report:
    converted: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    not_converted: list[dict[str, str]] = field(default_factory=list)

    def _add(self, into: list[dict[str, str]], entry: dict[str, str]) -> None:
        if len(into) < MAX_REPORT_ENTRIES:
            into.append(entry)
        elif len(into) == MAX_REPORT_ENTRIES:
            into.append({"what": "...", "why": "more entries left out of the report"})

    def done(self, what: str, into: str) -> None:
        self._add(self.converted, {"what": what, "into": into})

    def warn(self, what: str, message: str) -> None:
        self._add(self.warnings, {"what": what, "message": message})

    def skip(self, what: str, why: str) -> None:
        self._add(self.not_converted, {"what": what, "why": why})

    def as_dict(self) -> dict[str, list[dict[str, str]]]:
        return {"converted": self.converted, "warnings": self.warnings, "not_converted": self.not_converted}


@dataclass
class Converted:
    """One testcase: its name (unique in its group), the document, the group it belongs to."""

    name: str
    document: dict[str, Any]
    group: str | None = None
    key: str | None = None  # what it was made from, stable across conversions ("GET /pets/{id}")


@dataclass
class Conversion:
    format: str
    title: str = "imported"  # the source's own name: the module of ungrouped testcases
    testcases: list[Converted] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    # a project environment to write (a Postman environment file imported with
    # `environment=<name>`): {"name", "variables", "secrets"}; None when there is none
    environment: dict[str, Any] | None = None

    def add(
        self, name: str, document: dict[str, Any], group: str | None = None, key: str | None = None
    ) -> Converted | None:
        if len(self.testcases) >= MAX_TESTCASES:
            self.report.skip(f"testcase {name!r}", f"more than {MAX_TESTCASES} testcases in one source")
            return None
        item = Converted(name, document, group, key)
        self.testcases.append(item)
        return item

    def groups(self) -> list[str | None]:
        return list(dict.fromkeys(t.group for t in self.testcases))


def finish(conversion: Conversion) -> Conversion:
    """Validate every document, make names unique per group, and record what became what."""
    from chalicelib.runner.schema import TestcaseInvalid, validate_testcase

    kept: list[Converted] = []
    names = UniqueNames()
    for item in conversion.testcases:
        try:
            validate_testcase(item.document)
        except TestcaseInvalid as invalid:
            reasons = "; ".join(
                f"{path or 'testcase'}: {message}" for path, message in invalid.fields.items()
            )
            conversion.report.skip(f"testcase {item.name!r}", f"not a valid testcase: {reasons}")
            continue
        item.name = names.take(item.name, item.group)
        item.document["config"]["name"] = item.name
        kept.append(item)
    conversion.testcases = kept
    return conversion


class UniqueNames:
    """Names made unique case-insensitively per group by ' (2)', ' (3)'..., within the length limit."""

    def __init__(self) -> None:
        self._taken: dict[str | None, set[str]] = {}

    def take(self, name: str, group: str | None = None) -> str:
        taken = self._taken.setdefault(group, set())
        base = clean_name(name)
        candidate, number = base, 1
        while candidate.casefold() in taken:
            number += 1
            suffix = f" ({number})"
            candidate = base[: MAX_NAME_CHARS - len(suffix)] + suffix
        taken.add(candidate.casefold())
        return candidate


def clean_name(name: Any, fallback: str = "unnamed") -> str:
    """A name the catalog accepts: no control characters, trimmed, 1-100 characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(name or "")).strip()
    return (text or fallback)[:MAX_NAME_CHARS].strip() or fallback


def variable_name(name: str) -> str:
    """A source's variable name as an HttpRunner one: letters, digits, `_`; not a digit first."""
    if _IDENTIFIER.fullmatch(name):
        return name
    cleaned = _NOT_WORD.sub("_", name.strip()).strip("_") or "var"
    return cleaned if _IDENTIFIER.match(cleaned) else f"v_{cleaned}"


def literal(text: str) -> str:
    """Text sent as is: `$` doubled so the runner does not read it as a reference."""
    return text.replace("$", "$$")


def map_strings(value: Any, text: Callable[[str], str], key: Callable[[str], str] | None = None) -> Any:
    """A JSON value with `text` applied to its strings and `key` (default `text`) to its keys;
    as deep as the value, which the loaders bound."""
    key = key or text
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [map_strings(item, text, key) for item in value]
    if isinstance(value, dict):
        return {key(str(k)): map_strings(item, text, key) for k, item in value.items()}
    return value


def literal_value(value: Any) -> Any:
    """A JSON value sent as is: every `$` in its strings (keys too) doubled."""
    return map_strings(value, literal)


# Postman's dynamic variables that hat's safe builtins can stand for.
DYNAMIC_VARIABLES = {
    "$guid": "${uuid()}",
    "$randomUUID": "${uuid()}",
    "$timestamp": "${get_timestamp(10)}",
    "$isoTimestamp": "${now()}",
    "$randomInt": "${random_int(0, 1000)}",
    "$randomAlphaNumeric": "${random_string(1)}",
}


class Templater:
    """`{{name}}` text (Postman, and the usual placeholder in docs) to the runner's `${name}`.

    A linear scan with str.find, no regex over client text. Everything else is literal (a `$`
    doubled). Names that are not identifiers are renamed (`base-url` -> `base_url`) the same
    way everywhere, and every name seen is kept in `used`.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self.used: dict[str, str] = {}  # runner name -> the source's name

    def name(self, source_name: str) -> str:
        runner_name = variable_name(source_name)
        self.used.setdefault(runner_name, source_name)
        return runner_name

    def text(self, text: Any, what: str) -> Any:
        if not isinstance(text, str):
            return text
        out: list[str] = []
        position = 0
        while True:
            start = text.find("{{", position)
            end = text.find("}}", start + 2) if start >= 0 else -1
            if start < 0 or end < 0:
                out.append(literal(text[position:]))
                return "".join(out)
            out.append(literal(text[position:start]))
            inner = text[start + 2 : end].strip()
            if inner.startswith("$"):
                replacement = DYNAMIC_VARIABLES.get(inner)
                if replacement is None:
                    self.report.warn(
                        what, f"Postman's dynamic variable {{{{{inner}}}}} has no equivalent; sent as written"
                    )
                    replacement = literal(text[start : end + 2])
                out.append(replacement)
            elif inner:
                out.append("${" + self.name(inner) + "}")
            else:
                out.append(literal(text[start : end + 2]))
            position = end + 2

    def value(self, value: Any, what: str) -> Any:
        """Strings anywhere in a JSON value templated (bounded: the source's node limit)."""
        return map_strings(value, lambda text: self.text(text, what))


UPLOAD_FOLDER = "files"  # where an imported upload's files go in the project
_FILE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
MAX_FILE_NAME_CHARS = 100


def file_name(source: str, sent_name: str = "") -> str:
    """The name a file part is stored under: the name the request sends (`sent_name`, else the
    last segment of `source`, a path on the machine the source was made on, / or \\), every
    character but letters, digits and `._-` made `_`, at most 100 characters (the extension
    kept); `upload` when nothing is left, or only `.` or `..`."""
    name = sent_name or source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    name = "".join(ch if ch in _FILE_NAME_CHARS else "_" for ch in name.strip())
    if len(name) > MAX_FILE_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        keep = dot + extension if dot and 0 < len(extension) <= 10 else ""
        name = name[: MAX_FILE_NAME_CHARS - len(keep)] + keep
    return "upload" if name in ("", ".", "..") else name


class ProjectFiles:
    """The project files a conversion's uploads read: `files/<file name>` (`file_name`), the
    same path for the same source file, `-2`, `-3`... before the extension for another file
    of the same name. Each use is a warning naming the path to upload the file to: the runner
    reads it from the project's files, which an import cannot fill."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self._paths: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()

    def path(self, source: str, what: str, sent_name: str = "") -> str:
        key = (source, sent_name)
        path = self._paths.get(key)
        if path is None:
            name = file_name(source, sent_name)
            stem, dot, extension = name.rpartition(".") if "." in name[1:] else (name, "", "")
            path, number = f"{UPLOAD_FOLDER}/{name}", 1
            while path.casefold() in self._taken:
                number += 1
                path = f"{UPLOAD_FOLDER}/{stem}-{number}{dot}{extension}"
            self._taken.add(path.casefold())
            self._paths[key] = path
        shown = f" {source!r}" if source else ""
        self.report.warn(
            what,
            f"sent from the project file {path!r}: upload the file{shown} to the project's files "
            "at that path before running",
        )
        return path


def upload_text(value: str, what: str, report: Report) -> bool:
    """Whether a text part can go in a multipart `upload`: the runner sends a value holding a
    `/` as the project file at that path, so one holding a / cannot be text (reported), and one
    holding a variable is warned of."""
    if "/" in value:
        report.skip(what, "a text part holding a / cannot be sent: hat's upload reads it as a file path")
        return False
    if "${" in value:
        report.warn(what, "if its value holds a / when sent, the runner reads it as a file path")
    return True


def split_origin(url: str) -> tuple[str, str]:
    """('https://api.example.com', '/v1/users?x=1') or ('${baseUrl}', '/users'); ('', url)
    when the url has no origin of its own."""
    if url.startswith("${"):
        end = url.find("}")
        if end > 0:
            rest = url[end + 1 :]
            return url[: end + 1], rest if rest.startswith(("/", "?", "")) else "/" + rest
    scheme = url.find("://")
    if scheme > 0 and url[:scheme].lower() in ("http", "https"):
        cut = min((i for i in (url.find(c, scheme + 3) for c in "/?#") if i >= 0), default=len(url))
        return url[:cut], url[cut:] or "/"
    return "", url


def with_base_url(config: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    """The origin most steps share becomes config.base_url, their urls relative to it."""
    counts: dict[str, int] = {}
    for step in steps:
        origin, _ = split_origin(step["request"]["url"])
        if origin:
            counts[origin] = counts.get(origin, 0) + 1
    if not counts:
        return
    base = max(counts, key=counts.__getitem__)
    config["base_url"] = base
    for step in steps:
        origin, rest = split_origin(step["request"]["url"])
        if origin == base:
            step["request"]["url"] = rest or "/"


def testcase_document(
    name: str,
    steps: list[dict[str, Any]],
    *,
    variables: dict[str, Any] | None = None,
    base_url: str = "",
    verify: bool | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {"name": clean_name(name)}
    if base_url:
        config["base_url"] = base_url
    if variables:
        config["variables"] = variables
    if verify is not None:
        config["verify"] = verify
    if not base_url:
        with_base_url(config, steps)
    return {"config": config, "teststeps": steps}
