"""The HttpRunner v3 testcase document, checked at save time.

``validate_testcase(doc)`` returns a ``Testcase`` model or raises ``TestcaseInvalid`` whose
``fields`` name every problem by path (``teststeps[2].validate[0]``). Beyond shape, it refuses
what would need user Python (hooks, validate_script, custom comparators, CSV parameterize,
``${func()}`` outside the safe builtins) and check/extract paths that look like typos of
``status_code``/``headers``/``cookies``/``body``, which HttpRunner silently compares as text.

This module is on the API's cold path: it must not import the HTTP client (nor PyYAML until
YAML is actually parsed).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from typing import Annotated, Any

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from chalicelib.runner._cache import text_cache
from chalicelib.runner.comparators import ALIASES, TYPE_NAMES, canonical_comparator
from chalicelib.runner.errors import NestedTooDeep, SubstitutionError, TestcaseInvalid, location_path
from chalicelib.runner.files import csv_path, looks_like_path
from chalicelib.runner.files import path_problem as file_path_problem
from chalicelib.runner.functions import (
    BUILTINS_NOTE,
    CSV_FUNCTIONS,
    SAFE_FUNCTION_NAMES,
    UNKNOWN_FUNCTION,
    unknown_function_message,
)
from chalicelib.runner.headers import static_header_problem
from chalicelib.runner.nesting import json_deeper_than, yaml_deeper_than
from chalicelib.runner.paths import ROOTS, leading_root, path_problem
from chalicelib.runner.template import Call, call_source, iter_references, parse
from chalicelib.runner.testcase import (
    MAX_PARAMETER_COMBINATIONS,
    Hook,
    RunConfig,
    RunRequest,
    RunStep,
    RunTestcase,
    RunValidator,
    cached_validator,
)

MAX_DOCUMENT_CHARS = 2_000_000
MAX_DOCUMENT_NODES = 100_000  # YAML aliases can make a small text a huge tree
MAX_DOCUMENT_DEPTH = 64
MAX_STEPS = 500
MAX_RETRY_TIMES = 100
MAX_RETRY_INTERVAL_SECONDS = 300.0
MAX_RESPONSE_MS = 300_000.0  # the longest request timeout
MAX_REQUEST_TIMEOUT_SECONDS = 300.0

METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")
_METHOD_SET = frozenset(METHODS)

_HOOKS = "hooks run user Python (debugtalk.py), which hat does not support without one"
HOOK_FIELDS = ("setup_hooks", "teardown_hooks")
REFUSED_FIELDS = {
    "validate_script": "validate_script runs user Python, which hat does not support; "
    "use validate with the built-in comparators",
    "api": "`api:` references are HttpRunner 2; reference a testcase with `testcase:`",
    "testcases": "testsuites are not supported; run the testcases of a module instead",
}
_NAME = re.compile(r"[A-Za-z_]\w*")


class _Model(BaseModel):
    # Unknown keys are refused, not ignored: a misspelt "valdiate" must not pass silently.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)



# Rust-side checks (a pattern, a plain dict type) rather than Python callbacks: every run
# re-reads its testcases, so these run per variable of every testcase; _message words them.
_VARIABLE_PATTERN = r"^[A-Za-z_]\w*$"
VariableName = Annotated[str, StringConstraints(pattern=_VARIABLE_PATTERN)]
Variables = dict[VariableName, Any]
_FUNCTION_VARIABLES = (
    "must be a mapping of name: value; variables computed by a function need user "
    "Python (debugtalk.py), which hat does not support"
)


@text_cache(maxsize=4096)
def _extract_path(expr: str) -> str:
    problem = path_problem(expr)
    if problem:
        raise ValueError(problem)
    if leading_root(expr) is None:
        raise ValueError(f"{expr!r}: extract paths start with {', '.join(ROOTS)}")
    return expr


@text_cache(maxsize=8192)
def _checked_comparator(name: Any, check: Any, expect: Any) -> str:
    """The canonical comparator of a validator, or ValueError saying what is wrong with it.

    Cached: testcases are re-read on every run and repeat the same checks endlessly.
    """
    canonical = canonical_comparator(name) if isinstance(name, str) else None
    if canonical is None:
        raise ValueError(
            f"unknown comparator {name!r}: custom comparators need user Python "
            f"(debugtalk.py), which hat does not support; use one of "
            f"{', '.join(sorted(ALIASES))} (or an HttpRunner alias such as eq, len_gt)"
        )
    if isinstance(check, str):
        problem = path_problem(check)
        if problem:
            raise ValueError(problem)
    if isinstance(expect, str) and "$" not in expect:
        if canonical == "regex_match":
            from chalicelib.runner.regex import compile_user_regex

            compile_user_regex(expect)  # ValueError says why RE2 cannot run it
        if canonical == "type_match" and expect not in TYPE_NAMES:
            raise ValueError(f"unknown type {expect!r}; use one of {sorted(TYPE_NAMES)}")
    return canonical


def validator_parts(data: dict[Any, Any]) -> tuple[Any, Any, Any, str]:
    """(comparator as written, check, expect, message) of a validator in either form:
    ``{"eq": [check, expect, message?]}`` or the legacy ``{"check", "comparator", "expect"}``."""
    if "check" in data:
        # HttpRunner 2's {"check", "comparator", "expect"}, and the spelling HttpRunner
        # 3 also reads: "assert" for the comparator, "msg" for the message
        unknown = set(data) - {
            "check", "comparator", "assert", "expect", "expected", "message", "msg"
        }
        if unknown:
            raise ValueError(f"unknown keys in validator: {', '.join(sorted(unknown))}")
        if "expect" not in data and "expected" not in data:
            raise ValueError("validator has a check but no expect")
        if "comparator" in data and "assert" in data:
            raise ValueError("a validator names its comparator once: comparator or assert")
        name = data.get("comparator", data.get("assert", "eq"))
        check = data["check"]
        expect = data["expect"] if "expect" in data else data["expected"]
        if "message" in data and "msg" in data:
            raise ValueError("a validator has one message: message or msg")
        message = data.get("message", data.get("msg", ""))
    elif len(data) == 1:
        name, values = next(iter(data.items()))
        if not isinstance(values, list) or len(values) not in (2, 3):
            raise ValueError(f"{name}: expected [check, expected] or [check, expected, message]")
        check, expect = values[0], values[1]
        message = values[2] if len(values) == 3 else ""
    else:
        raise ValueError(
            'a validator is {"eq": [check, expected]} (one comparator per item) '
            'or {"check", "comparator", "expect"}'
        )
    if not isinstance(message, str):
        raise ValueError("the validator message (third element) must be text")
    return name, check, expect, message


def validator_comparator(name: Any, check: Any, expect: Any, functions: frozenset[str]) -> str:
    """The comparator a validator runs: canonical, or a debugtalk.py function's name (a
    built-in comparator of the same name wins); ValueError says what is wrong."""
    if isinstance(name, str) and name in functions and canonical_comparator(name) is None:
        return name
    return _checked_comparator(name, check, expect)


class Validator(_Model):
    """One check, normalised from ``{"eq": [check, expect, message?]}`` or the legacy
    ``{"check", "comparator", "expect"}`` form. ``comparator`` is the canonical name."""

    comparator: str
    check: Any
    expect: Any
    message: str = ""

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                'a validator is {"eq": [check, expected]} or {"check", "comparator", "expect"}'
            )
        name, check, expect, message = validator_parts(data)
        functions = (info.context or {}).get("functions") or frozenset()
        comparator = validator_comparator(name, check, expect, functions)
        return {"comparator": comparator, "check": check, "expect": expect, "message": message}

    @model_serializer
    def _as_document(self) -> dict[str, list[Any]]:
        values = [self.check, self.expect] + ([self.message] if self.message else [])
        return {self.comparator: values}


def normal_method(value: Any) -> str:
    method = value.upper() if isinstance(value, str) else None
    if method in _METHOD_SET:
        return method
    raise ValueError(f"method must be one of {', '.join(METHODS)}")


def checked_data(value: Any) -> Any:
    if value is not None and not isinstance(value, (str, dict)):
        raise ValueError("data is text (sent as is) or a mapping (sent as a form)")
    return value


def checked_upload(value: Any) -> Any:
    if value is None:
        return value
    if not value:
        raise ValueError("upload is a mapping of field: file path or text")
    for field, item in value.items():
        if looks_like_path(item):
            problem = file_path_problem(item)
            if problem:
                raise ValueError(f"upload.{field}: {problem}")
        elif not isinstance(item, (str, int, float, bool)):
            raise ValueError(f"upload.{field}: a file path (data/x.csv) or a text value")
    return value


def check_one_body(has_json: bool, data: Any, upload: Any) -> None:
    if data is None and upload is None:
        return  # json or no body: the usual request
    bodies = [name for name, given in (("json", has_json), ("data", data is not None),
                                       ("upload", upload is not None)) if given]
    if len(bodies) > 1:
        raise ValueError(f"set either {' or '.join(bodies)}, not both (one body per request)")


class Request(_Model):
    method: str
    url: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    data: Any = None
    cookies: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0, le=MAX_REQUEST_TIMEOUT_SECONDS)
    allow_redirects: bool = True
    verify: bool | None = None
    # HttpRunner's multipart form: a value naming a project file (text with a /) is sent as
    # that file, any other value as a text field
    upload: dict[str, Any] | None = None

    # the rules are functions of their own: the fast reader (below) calls them too
    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> str:
        return normal_method(value)

    @field_validator("data")
    @classmethod
    def _data(cls, value: Any) -> Any:
        return checked_data(value)

    @field_validator("upload")
    @classmethod
    def _upload(cls, value: Any) -> Any:
        return checked_upload(value)

    @model_validator(mode="after")
    def _one_body(self) -> Request:
        check_one_body(self.has_json(), self.data, self.upload)
        return self

    def has_json(self) -> bool:
        return "json_body" in self.model_fields_set


ExtractPath = Annotated[str, AfterValidator(_extract_path)]


def checked_hook(value: Any) -> Hook:
    # HttpRunner's two forms: "${func($request)}" (called for its effect) and
    # {"var": "${func()}"} (its result becomes the variable $var)
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        [(name, content)] = value.items()
        if isinstance(name, str) and _NAME.fullmatch(name):
            return value
    raise ValueError('a hook is "${func(...)}" or {"variable": "${func(...)}"}')


Hooks = list[Annotated[Any, AfterValidator(checked_hook)]]


def merged_extract(value: Any) -> Any:
    """HttpRunner 2 wrote extract as a list of one-key mappings, [{token: body.token}]: the
    mapping they make (anything else is returned as it is)."""
    if not isinstance(value, list):
        return value
    merged: dict[Any, Any] = {}
    for item in value:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError("extract is a mapping, or a list of {variable: path} items")
        [(name, path)] = item.items()
        if name in merged:
            raise ValueError(f"{name!r} is extracted twice")
        merged[name] = path
    return merged


def check_step_kind(step: Step | RunStep) -> None:
    """A step has a request or a testcase, and only the fields of its kind."""
    if (step.request is None) == (step.testcase is None):
        raise ValueError("a step has either request or testcase (exactly one)")
    if step.testcase is not None:
        request_only = (
            ("extract", step.extract), ("validate", step.validators),
            ("retry_times", step.retry_times), ("retry_interval", step.retry_interval),
            ("max_response_ms", step.max_response_ms),
            ("degraded_response_ms", step.degraded_response_ms),
            ("setup_hooks", step.setup_hooks), ("teardown_hooks", step.teardown_hooks),
        )
        for shown, value in request_only:
            if value:
                raise ValueError(
                    f"{shown} applies to request steps; a testcase step passes values "
                    "back with export"
                )
    elif step.export:
        raise ValueError("export applies to testcase steps; a request step uses extract")


class Step(_Model):
    name: str = Field(min_length=1)
    request: Request | None = None
    testcase: str | None = Field(default=None, min_length=1)
    variables: Variables = Field(default_factory=dict)
    extract: dict[VariableName, ExtractPath] = Field(default_factory=dict)
    validators: list[Validator] = Field(default_factory=list, alias="validate")
    export: list[VariableName] = Field(default_factory=list)
    retry_times: int = Field(default=0, ge=0, le=MAX_RETRY_TIMES)
    retry_interval: float = Field(default=0.0, ge=0, le=MAX_RETRY_INTERVAL_SECONDS)
    # response time: slower than max fails the step, slower than degraded marks it degraded
    max_response_ms: float | None = Field(default=None, gt=0, le=MAX_RESPONSE_MS)
    degraded_response_ms: float | None = Field(default=None, gt=0, le=MAX_RESPONSE_MS)
    setup_hooks: Hooks = Field(default_factory=list)  # user code: see validate_testcase
    teardown_hooks: Hooks = Field(default_factory=list)

    @field_validator("extract", mode="before")
    @classmethod
    def _extract_list(cls, value: Any) -> Any:
        return merged_extract(value)

    @model_validator(mode="after")
    def _kind(self) -> Step:
        check_step_kind(self)
        return self


class Config(_Model):
    name: str = Field(min_length=1)
    # HttpRunner's share of a load test (its locust mode); a run here sends each testcase
    # once, so it is accepted and has no effect
    weight: int = Field(default=1, ge=1)
    base_url: str = ""
    variables: Variables = Field(default_factory=dict)
    parameters: dict[str, list[Any] | str] = Field(default_factory=dict)  # str: ${P(path)}
    headers: dict[str, Any] = Field(default_factory=dict)
    verify: bool = False
    export: list[VariableName] = Field(default_factory=list)
    # every request step's response-time limits unless a step sets its own
    max_response_ms: float | None = Field(default=None, gt=0, le=MAX_RESPONSE_MS)
    degraded_response_ms: float | None = Field(default=None, gt=0, le=MAX_RESPONSE_MS)
    setup_hooks: Hooks = Field(default_factory=list)  # before the first step, after the last
    teardown_hooks: Hooks = Field(default_factory=list)

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("parameters is a mapping of name: [values]")
        sizes = []
        for key, values in value.items():
            names = str(key).split("-")
            bad = [n for n in names if not _NAME.fullmatch(n)]
            if bad:
                raise ValueError(f"{key!r}: {bad[0]!r} is not a variable name")
            if isinstance(values, str):
                path = csv_path(values)
                if path is None:
                    raise ValueError(
                        f"{key}: values are listed inline, or read from a project file "
                        f"with ${{P(data/{names[0]}.csv)}}; functions that return "
                        "parameters need user Python"
                    )
                problem = file_path_problem(path)
                if problem:
                    raise ValueError(f"{key}: {problem}")
                continue  # its size is known when the file is read
            if not isinstance(values, list) or not values:
                raise ValueError(f"{key}: a non-empty list of values")
            if len(names) > 1:
                for i, item in enumerate(values):
                    if not isinstance(item, list) or len(item) != len(names):
                        raise ValueError(
                            f"{key}[{i}]: each item is a list of {len(names)} values "
                            f"({', '.join(names)})"
                        )
            sizes.append(len(values))
        total = 1
        for size in sizes:
            total *= size
        if total > MAX_PARAMETER_COMBINATIONS:
            raise ValueError(
                f"{total} parameter combinations; at most {MAX_PARAMETER_COMBINATIONS}"
            )
        return value



class Testcase(_Model):
    config: Config
    teststeps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    def to_document(self) -> dict[str, Any]:
        """The normalised document (canonical comparators), JSON-serialisable."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")

    def references(self) -> list[str]:
        """The ``testcase:`` references of its steps, in order, for the app to check."""
        return [step.testcase for step in self.teststeps if step.testcase is not None]


_KNOWN_FIELDS = sorted(
    {f.alias or name for m in (Config, Step, Request) for name, f in m.model_fields.items()}
)


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        if name in REFUSED_FIELDS:
            return REFUSED_FIELDS[name]
        close = difflib.get_close_matches(name, _KNOWN_FIELDS, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown field {name!r} (not part of the HttpRunner v3 format hat runs){hint}"
    if kind == "string_pattern_mismatch" and error["ctx"]["pattern"] == _VARIABLE_PATTERN:
        return f"{error['input']!r} is not a variable name (letters, digits and _)"
    if kind == "dict_type" and error["loc"][-1] == "variables":
        return _FUNCTION_VARIABLES if isinstance(error["input"], str) else "must be a mapping"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


_SCALARS = (str, int, float, bool, type(None))


def _scan(doc: Any, functions: frozenset[str] | None = None) -> dict[str, str]:
    """Shape and ${function()} problems found by reading every value of the document.

    Raises TestcaseInvalid at once for a document too big or too deep to go on reading
    (YAML aliases can make a small text a huge or cyclic tree) or with non-text keys.
    Paths are only formatted for problems: this runs on every testcase of every run.
    """
    errors: dict[str, str] = {}
    trail: list[str | int] = []
    nodes = 0

    def visit(value: Any, depth: int) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_DOCUMENT_NODES:
            raise TestcaseInvalid({"": f"document has more than {MAX_DOCUMENT_NODES} values"})
        if depth > MAX_DOCUMENT_DEPTH:
            raise TestcaseInvalid(
                {location_path(trail): f"nested deeper than {MAX_DOCUMENT_DEPTH} levels"}
            )
        if isinstance(value, str):
            # a CSV parameters entry is read by the runner (files.py), not called
            if "${" in value and not (len(trail) == 3 and trail[:2] == ["config", "parameters"]
                                      and csv_path(value) is not None):
                _check_calls(value, trail, errors, functions)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TestcaseInvalid({location_path(trail): f"key {key!r} is not text"})
                trail.append(key)
                visit(item, depth + 1)
                trail.pop()
        elif isinstance(value, list):
            for index, item in enumerate(value):
                trail.append(index)
                visit(item, depth + 1)
                trail.pop()
        elif not isinstance(value, _SCALARS):
            errors[location_path(trail)] = (
                f"{type(value).__name__} values are not allowed (JSON types only)"
            )

    visit(doc, 0)
    return errors


def _check_calls(
    value: str, trail: list[str | int], errors: dict[str, str], functions: frozenset[str] | None
) -> None:
    try:
        for ref in iter_references(value):
            if not isinstance(ref, Call) or ref.name in SAFE_FUNCTION_NAMES:
                continue
            if functions is None:
                errors[location_path(trail)] = unknown_function_message(
                    ref.name, call_source(ref), list_builtins=False)
                return
            if ref.name not in functions:
                errors[location_path(trail)] = _not_in_debugtalk(ref.name, functions)
                return
    except SubstitutionError as exc:
        errors[location_path(trail)] = str(exc)


def _not_in_debugtalk(name: str, functions: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(functions), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    defined = ", ".join(sorted(functions)) or "none"
    return (f"${{{name}()}} is neither a safe builtin nor a function of the project's "
            f"debugtalk.py (it defines: {defined}){hint}")


def _single_call(value: Any) -> Call | None:
    """The call of a value that is exactly one ``${func(...)}``, else None."""
    if not isinstance(value, str) or "${" not in value:
        return None
    try:
        parts = parse(value)
    except SubstitutionError:
        return None
    return parts[0] if len(parts) == 1 and isinstance(parts[0], Call) else None


def _user_code_fields(
    doc: dict[str, Any], functions: frozenset[str] | None, errors: dict[str, str]
) -> dict[str, Any]:
    """What only a project with a debugtalk.py may use: hooks (refused without one), and
    config variables or parameters computed by a function, which the sandbox computes before
    the run (so here they are checked, then stand in the document as placeholders)."""
    config = doc.get("config")
    steps = doc.get("teststeps")
    places = [("config", config)] + (
        [(f"teststeps[{i}]", step) for i, step in enumerate(steps)] if isinstance(steps, list)
        else []
    )
    if functions is None:
        for path, where in places:
            for field in HOOK_FIELDS:
                if isinstance(where, dict) and where.get(field, []) != []:  # [] has no effect
                    errors[f"{path}.{field}"] = _HOOKS
        return doc
    if not isinstance(config, dict):
        return doc
    config = dict(config)
    if isinstance(config.get("variables"), str):
        if _single_call(config["variables"]) is None:
            errors["config.variables"] = 'a mapping, or one call "${func(...)}" returning one'
        config["variables"] = {}
    parameters = config.get("parameters")
    if isinstance(parameters, dict):
        parameters = dict(parameters)
        for key, values in parameters.items():
            if isinstance(values, str) and csv_path(values) is None:  # CSV: read by files.py
                if _single_call(values) is None:
                    errors[f"config.parameters.{key}"] = (
                        'a list of values, or one call "${func(...)}" returning them'
                    )
                parameters[key] = [[None] * len(str(key).split("-"))] if "-" in str(key) else [None]
        config["parameters"] = parameters
    return {**doc, "config": config}


def _header_problems(doc: dict[str, Any], errors: dict[str, str]) -> None:
    """Headers written as sent that HTTP cannot carry (CR, LF, NUL; names not tokens).
    A save-time check: at run time the engine checks every header as rendered."""
    places: list[tuple[str, Any]] = [("config", doc.get("config"))]
    steps = doc.get("teststeps")
    if isinstance(steps, list):
        places += [(f"teststeps[{i}].request", step.get("request"))
                   for i, step in enumerate(steps) if isinstance(step, dict)]
    for where, holder in places:
        headers = holder.get("headers") if isinstance(holder, dict) else None
        if not isinstance(headers, dict):
            continue
        for name, value in headers.items():
            problem = static_header_problem(name, value) if isinstance(name, str) else None
            if problem:
                errors.setdefault(f"{where}.headers.{name[:100]}", problem)


def validate_testcase(doc: Any, functions: frozenset[str] | None = None) -> Testcase:
    """Check an HttpRunner v3 testcase document; TestcaseInvalid lists every problem.

    ``functions``: the names the project's debugtalk.py defines, or None when it has none.
    With them, ``${func()}`` may call them, hooks are accepted, a function name may be a
    comparator, and config variables and parameters may be computed by one call.
    """
    if isinstance(doc, list):
        raise TestcaseInvalid(
            {"": "this looks like the HttpRunner 2 format (a list); hat reads HttpRunner 3 "
             "testcases: {config: {...}, teststeps: [...]}"}
        )
    if not isinstance(doc, dict):
        raise TestcaseInvalid({"": "a testcase is a mapping with config and teststeps"})
    errors = _scan(doc, functions)
    _header_problems(doc, errors)
    doc = _user_code_fields(doc, functions, errors)
    try:
        model = Testcase.model_validate(doc, context={"functions": functions or frozenset()})
    except ValidationError as exc:
        for error in exc.errors():
            path = location_path(error["loc"])
            message = _message(error)
            if path in errors and message not in errors[path]:
                errors[path] = f"{errors[path]}; {message}"
            else:
                errors.setdefault(path, message)
        raise TestcaseInvalid(errors, _note(errors)) from None
    if errors:
        raise TestcaseInvalid(errors, _note(errors))
    return model


_CALLED = re.compile(r"\$\{([A-Za-z_]\w*)\(")


def needs_user_code(doc: Any) -> bool:
    """Whether running a (saved, valid) testcase needs the project's debugtalk.py: hooks, a
    call outside the safe builtins, a custom comparator, variables or parameters computed by
    a function. Cheap enough for the worker to ask of every testcase of a run."""
    if not isinstance(doc, dict):
        return False
    config = doc.get("config")
    steps = doc.get("teststeps")
    sections = [config, *(steps if isinstance(steps, list) else ())]
    if any(isinstance(section, dict) and section.get(field) for section in sections
           for field in HOOK_FIELDS):  # empty hook lists have no effect (and are accepted)
        return True
    text = json.dumps(doc, separators=(",", ":"), default=str)
    if any(name not in SAFE_FUNCTION_NAMES and name not in CSV_FUNCTIONS
           for name in _CALLED.findall(text)):
        return True
    if isinstance(config, dict):
        parameters = config.get("parameters")
        if isinstance(config.get("variables"), str) or (
            isinstance(parameters, dict) and any(
                isinstance(v, str) and csv_path(v) is None for v in parameters.values())
        ):
            return True
    for step in steps if isinstance(steps, list) else ():
        validators = step.get("validate") if isinstance(step, dict) else None
        for item in validators if isinstance(validators, list) else ():
            if isinstance(item, dict):
                name = item.get("comparator", "eq") if "check" in item else next(iter(item), "eq")
                if isinstance(name, str) and canonical_comparator(name) is None:
                    return True
    return False


def _note(errors: dict[str, str]) -> str | None:
    return BUILTINS_NOTE if any(UNKNOWN_FUNCTION in message for message in errors.values()) else None


def load_testcase(doc: Any, functions: frozenset[str] | None = None) -> RunTestcase:
    """The testcase to run (``testcase.RunTestcase``): the structural checks only.

    Runs re-read documents that were checked in full when saved; reading every value
    again for ${function()} calls would cost as much as the checks themselves, and a call
    outside the safe builtins is refused anyway when the step renders it. On any problem
    the full check runs, so the error lists everything, as validate_testcase does.

    Documents in the usual shape (exact JSON types, no parameters) are read by
    ``_fast_load`` straight into the run-time objects: a run reads every testcase again,
    and pydantic's models cost several times more, in time and in objects for the garbage
    collector. Anything else goes through the models, then into the same objects.
    """
    known = functions or frozenset()
    fast = _fast_load(doc, known)
    if fast is not None:
        return fast
    try:
        model = Testcase.model_validate(doc, context={"functions": known})
    except ValidationError:
        model = validate_testcase(doc, functions)
    return run_testcase(model)


def run_testcase(model: Testcase) -> RunTestcase:
    """The run-time objects of a checked model."""
    config = model.config
    return RunTestcase(
        RunConfig(config.name, config.base_url, config.variables, config.parameters,
                  config.headers, config.verify, tuple(config.export), config.max_response_ms,
                  config.degraded_response_ms, tuple(config.setup_hooks),
                  tuple(config.teardown_hooks)),
        [_run_step(step) for step in model.teststeps],
    )


def _run_step(step: Step) -> RunStep:
    request = step.request
    return RunStep(
        step.name,
        None if request is None else RunRequest(
            request.method, request.url, request.params, request.headers, request.has_json(),
            request.json_body, request.data, request.cookies, request.timeout,
            request.allow_redirects, request.verify, request.upload,
        ),
        step.testcase, step.variables, step.extract,
        [_run_validator(v.comparator, v.check, v.expect, v.message) for v in step.validators],
        tuple(step.export), step.retry_times, step.retry_interval, step.max_response_ms,
        step.degraded_response_ms, tuple(step.setup_hooks), tuple(step.teardown_hooks),
    )


def _run_validator(comparator: str, check: Any, expect: Any, message: str) -> RunValidator:
    return cached_validator(comparator, check, type(check), expect, type(expect), message)


# ---- the run-time reading of well-formed documents ----
#
# ``_fast_load`` accepts a subset of what the models accept (exact JSON types, ASCII
# variable names, no parameters) and builds the same objects as ``run_testcase`` of the
# models. Its rules are theirs: the rule functions above, and the bounds and defaults read
# from the models' fields. For anything outside that subset, valid or not, it returns None
# and the models decide, so it can never accept what they refuse nor word an error
# differently (tests/unit/runner/test_fast_load.py holds it to that).


class _NotFast(Exception):
    """The document is outside what _fast_load reads: the models take over."""


def _keys(model: type[_Model], *left_out: str) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in model.model_fields.items()) - set(left_out)


_CONFIG_KEYS = _keys(Config, "parameters")  # they go through the models
_STEP_KEYS = _keys(Step)
_REQUEST_KEYS = _keys(Request)


class _Number:
    """A number field's type, bounds and default, as the model declares them."""

    __slots__ = ("types", "low", "low_inclusive", "high", "default")

    def __init__(self, model: type[_Model], name: str) -> None:
        info = model.model_fields[name]
        self.default = info.default
        self.types: tuple[type, ...] = (int,) if info.annotation is int else (int, float)
        self.low, self.low_inclusive, self.high = -math.inf, True, math.inf
        for bound in info.metadata:
            if isinstance(bound, annotated_types.Ge):
                self.low, self.low_inclusive = float(bound.ge), True  # type: ignore[arg-type]
            elif isinstance(bound, annotated_types.Gt):
                self.low, self.low_inclusive = float(bound.gt), False  # type: ignore[arg-type]
            elif isinstance(bound, annotated_types.Le):
                self.high = float(bound.le)  # type: ignore[arg-type]

    def read(self, value: Any) -> Any:
        """A value given for the field (``_ABSENT``: none), as the model makes it: the
        default, or the number (ints stay ints, floats are floats)."""
        if value is _ABSENT or (value is None and self.default is None):
            return self.default
        if type(value) not in self.types:
            raise _NotFast
        if not (self.low <= value if self.low_inclusive else self.low < value) \
                or not value <= self.high:
            raise _NotFast
        return value if self.types == (int,) else float(value)


_ABSENT: Any = object()
_TIMEOUT = _Number(Request, "timeout")
_RETRY_TIMES = _Number(Step, "retry_times")
_RETRY_INTERVAL = _Number(Step, "retry_interval")
_STEP_MAX_MS = _Number(Step, "max_response_ms")
_STEP_DEGRADED_MS = _Number(Step, "degraded_response_ms")
_WEIGHT = _Number(Config, "weight")
_CONFIG_MAX_MS = _Number(Config, "max_response_ms")
_CONFIG_DEGRADED_MS = _Number(Config, "degraded_response_ms")
_BASE_URL, _VERIFY = Config.model_fields["base_url"].default, Config.model_fields["verify"].default
_ALLOW_REDIRECTS = Request.model_fields["allow_redirects"].default
# the fields of most steps; a step with no other is read without looking for the others,
# which take their defaults
_USUAL_STEP_KEYS = frozenset({"name", "request", "variables", "extract", "validate"})
# ASCII names only, the subset of _VARIABLE_PATTERN (Unicode \w) read here: any other name
# goes to the models, which decide
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _text(value: Any, empty_ok: bool = True) -> str:
    if type(value) is not str or not (empty_ok or value):
        raise _NotFast
    return value


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise _NotFast
    return value


def _mapping(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _NotFast
    for key in value:
        if type(key) is not str:
            raise _NotFast
    return value


def _optional(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, _ABSENT)
    return {} if value is _ABSENT else _mapping(value)


def _keyed_by_names(value: Any) -> dict[str, Any]:
    """An optional mapping keyed by variable names (variables, extract)."""
    if value is _ABSENT:
        return {}
    if type(value) is not dict:
        raise _NotFast
    for name in value:
        if type(name) is not str or not _ASCII_NAME.fullmatch(name):
            raise _NotFast
    return value


def _names(value: Any) -> tuple[str, ...]:
    if value is _ABSENT:
        return ()
    if type(value) is not list:
        raise _NotFast
    for name in value:
        if type(name) is not str or not _ASCII_NAME.fullmatch(name):
            raise _NotFast
    return tuple(value)


def _hooks(value: Any) -> tuple[Hook, ...]:
    if value is _ABSENT:
        return ()
    if type(value) is not list:
        raise _NotFast
    for hook in value:
        checked_hook(hook)
    return tuple(value)


def _fast_validator(item: Any, functions: frozenset[str]) -> RunValidator:
    if type(item) is not dict:
        raise _NotFast
    if len(item) == 1:  # {"eq": [check, expect, message?]}: read once per distinct check
        [(name, values)] = item.items()
        if type(values) is list and 2 <= len(values) <= 3:
            check, expect = values[0], values[1]
            message = values[2] if len(values) == 3 else _ABSENT
            return _one_key_validator(name, check, type(check), expect, type(expect), message,
                                      functions)
    return _validator_of(item, functions)


def _validator_of(item: dict[Any, Any], functions: frozenset[str]) -> RunValidator:
    name, check, expect, message = validator_parts(item)
    return _run_validator(validator_comparator(name, check, expect, functions), check, expect,
                          message)


@text_cache(maxsize=4096)
def _one_key_validator(
    name: Any, check: Any, _check_type: type, expect: Any, _expect_type: type, message: Any,
    functions: frozenset[str],
) -> RunValidator:
    """``_validator_of`` the one-key item these values make: the types are part of the key
    (1, 1.0 and True are equal but not the same check; a message is text, or refused)."""
    values = [check, expect] if message is _ABSENT else [check, expect, message]
    return _validator_of({name: values}, functions)


def _fast_request(doc: Any) -> RunRequest:
    if type(doc) is not dict or not _REQUEST_KEYS.issuperset(doc):
        raise _NotFast
    method = doc.get("method")
    if type(method) is not str:
        raise _NotFast
    has_json = "json" in doc
    data = doc.get("data")
    upload = doc.get("upload")
    if data is not None or upload is not None:  # (the body rules pass any other request)
        checked_data(data)
        if upload is not None:
            checked_upload(_mapping(upload))
        check_one_body(has_json, data, upload)
    timeout = doc.get("timeout")
    allow_redirects = doc.get("allow_redirects", _ALLOW_REDIRECTS)
    verify = doc.get("verify")
    if type(allow_redirects) is not bool or (verify is not None and type(verify) is not bool):
        raise _NotFast
    return RunRequest(
        normal_method(method),
        _text(doc.get("url"), empty_ok=False),
        _optional(doc, "params"),
        _optional(doc, "headers"),
        has_json,
        doc.get("json"),
        data,
        _optional(doc, "cookies"),
        None if timeout is None else _TIMEOUT.read(timeout),
        allow_redirects,
        verify,
        upload,
    )


def _fast_step(doc: Any, functions: frozenset[str]) -> RunStep:
    if type(doc) is not dict:
        raise _NotFast
    request = doc.get("request")
    extract = doc.get("extract", _ABSENT)
    extract = _keyed_by_names(merged_extract(extract) if type(extract) is list else extract)
    for path in extract.values():
        if type(path) is not str:
            raise _NotFast
        _extract_path(path)  # cached: paths repeat from testcase to testcase
    validators = doc.get("validate", _ABSENT)
    if validators is _ABSENT:
        checks = []
    elif type(validators) is list:
        checks = [_fast_validator(item, functions) for item in validators]
    else:
        raise _NotFast
    name = _text(doc.get("name"), empty_ok=False)
    variables = _keyed_by_names(doc.get("variables", _ABSENT))
    run_request = None if request is None else _fast_request(request)
    if _USUAL_STEP_KEYS.issuperset(doc):
        step = RunStep(name, run_request, None, variables, extract, checks, (),
                       _RETRY_TIMES.default, _RETRY_INTERVAL.default, _STEP_MAX_MS.default,
                       _STEP_DEGRADED_MS.default, (), ())
    elif _STEP_KEYS.issuperset(doc):
        testcase = doc.get("testcase")
        step = RunStep(
            name,
            run_request,
            None if testcase is None else _text(testcase, empty_ok=False),
            variables,
            extract,
            checks,
            _names(doc.get("export", _ABSENT)),
            _RETRY_TIMES.read(doc.get("retry_times", _ABSENT)),
            _RETRY_INTERVAL.read(doc.get("retry_interval", _ABSENT)),
            _STEP_MAX_MS.read(doc.get("max_response_ms", _ABSENT)),
            _STEP_DEGRADED_MS.read(doc.get("degraded_response_ms", _ABSENT)),
            _hooks(doc.get("setup_hooks", _ABSENT)),
            _hooks(doc.get("teardown_hooks", _ABSENT)),
        )
    else:
        raise _NotFast
    check_step_kind(step)
    return step


def _fast_load(doc: Any, functions: frozenset[str] = frozenset()) -> RunTestcase | None:
    try:
        if type(doc) is not dict or doc.keys() != {"config", "teststeps"}:
            raise _NotFast
        raw = doc["config"]
        if type(raw) is not dict or not _CONFIG_KEYS.issuperset(raw):
            raise _NotFast  # parameters included: they go through the models
        _WEIGHT.read(raw.get("weight", _ABSENT))  # checked, and of no effect on a run
        config = RunConfig(
            _text(raw.get("name"), empty_ok=False),
            _text(raw.get("base_url", _BASE_URL)),
            _keyed_by_names(raw.get("variables", _ABSENT)),
            {},
            _optional(raw, "headers"),
            _flag(raw.get("verify", _VERIFY)),
            _names(raw.get("export", _ABSENT)),
            _CONFIG_MAX_MS.read(raw.get("max_response_ms", _ABSENT)),
            _CONFIG_DEGRADED_MS.read(raw.get("degraded_response_ms", _ABSENT)),
            _hooks(raw.get("setup_hooks", _ABSENT)),
            _hooks(raw.get("teardown_hooks", _ABSENT)),
        )
        steps = doc["teststeps"]
        if type(steps) is not list or not 1 <= len(steps) <= MAX_STEPS:
            raise _NotFast
        return RunTestcase(config, [_fast_step(step, functions) for step in steps])
    except (_NotFast, ValueError):  # ValueError: a rule refused it; the models say how
        return None


@functools.cache
def yaml_loader() -> Any:
    """libyaml's safe loader (or the pure one) that leaves dates as text; shared by the import
    sources' reader (importers/loading.py)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    # Dates stay text: a testcase travels as JSON, and "2026-01-01" means the string there.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    return Loader


_YAML_TYPES = ("yaml", "x-yaml")


def parse_testcase_text(text: str, content_type: str, *,
                        max_depth: int = MAX_DOCUMENT_DEPTH) -> dict[str, Any]:
    """Parse a testcase from JSON or YAML text (YAML with safe loading only).

    ``content_type`` is a media type (``application/json``, ``application/yaml``,
    ``text/yaml``...; parameters such as ``; charset=utf-8`` are ignored). Raises
    TestcaseInvalid when the text does not parse or is not a mapping (NestedTooDeep, one,
    when it nests deeper than ``max_depth``, checked before any loader sees it); the result
    still has to go through ``validate_testcase``.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    subtype = media.rsplit("/", 1)[-1]
    if len(text) > MAX_DOCUMENT_CHARS:
        raise TestcaseInvalid({"": f"document longer than {MAX_DOCUMENT_CHARS} characters"})
    if subtype == "json" or subtype.endswith("+json"):
        if json_deeper_than(text, max_depth):
            raise NestedTooDeep("JSON", max_depth)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TestcaseInvalid(
                {"": f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"}
            ) from None
        except RecursionError:
            raise TestcaseInvalid({"": "JSON nested too deeply"}) from None
    elif subtype in _YAML_TYPES:
        import yaml

        if yaml_deeper_than(text, max_depth):
            raise NestedTooDeep("YAML", max_depth)
        try:
            doc = yaml.load(text, Loader=yaml_loader())  # noqa: S506 - a SafeLoader subclass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            raise TestcaseInvalid({"": f"invalid YAML{where}: {exc.problem}"}) from None
        except (yaml.YAMLError, RecursionError) as exc:
            raise TestcaseInvalid({"": f"invalid YAML: {exc}"}) from None
    else:
        raise TestcaseInvalid(
            {"": f"unsupported content type {media!r}; send application/json or application/yaml"}
        )
    if not isinstance(doc, dict):
        raise TestcaseInvalid({"": "a testcase is a mapping with config and teststeps"})
    _scan(doc)  # bounds YAML alias expansion before anyone serialises the result
    return doc


__all__ = [
    "Config",
    "Request",
    "Step",
    "Testcase",
    "TestcaseInvalid",
    "Validator",
    "load_testcase",
    "needs_user_code",
    "parse_testcase_text",
    "validate_testcase",
]
