"""The testcase the engine runs: plain slotted objects, whichever reader built them.

``schema.load_testcase`` returns a ``RunTestcase``: its fast reader builds one straight from
the usual documents, anything else goes through the pydantic models (``schema.Testcase``),
which are then turned into the same objects. The engine is typed against these alone.

The values are the document's, normalised as the save-time check normalises them (methods
upper-cased, comparators canonical, numbers as the models coerce them). Nothing changes
them once built; validators (shared by every testcase that repeats a check) are frozen.
Steps, requests and configs are not: they are built for every testcase of every run, and a
frozen dataclass costs five times as much to build.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Literal

from chalicelib.runner._cache import text_cache
from chalicelib.runner.comparators import COMPARATORS, Comparator
from chalicelib.runner.errors import RunnerError
from chalicelib.runner.files import csv_path, csv_rows
from chalicelib.runner.paths import Path, check_path

MAX_PARAMETER_COMBINATIONS = 1000


class _Dynamic(enum.Enum):
    CHECK = "dynamic"


DYNAMIC_CHECK = _Dynamic.CHECK
# where a check's actual value comes from: a compiled response path, the check as written
# (None: HttpRunner compares what is not a path as a literal) or, for a check with a
# variable in it, a path known only once the variable is rendered
CheckPath = Path | None | Literal[_Dynamic.CHECK]
# HttpRunner's two forms: "${func($request)}" (called for its effect) and
# {"var": "${func()}"} (its result becomes the variable $var)
Hook = str | dict[str, Any]
Parameters = dict[str, "list[Any] | str"]  # str: a CSV file, ${P(path)}


@dataclass(frozen=True, slots=True)
class RunValidator:
    """One check. ``comparator`` is canonical, or the name of a debugtalk.py function (then
    ``compare`` is None); ``path`` says where the actual value comes from (``CheckPath``).
    Both follow from the other fields, so equality leaves them out."""

    comparator: str
    check: Any
    expect: Any
    message: str
    path: CheckPath = field(compare=False)
    compare: Comparator | None = field(compare=False)


def run_validator(comparator: str, check: Any, expect: Any, message: str) -> RunValidator:
    """The validator of a (checked) comparator, with its path compiled once."""
    path: CheckPath = None
    if isinstance(check, str):
        try:
            path = DYNAMIC_CHECK if "$" in check else check_path(check)
        except ValueError:
            path = DYNAMIC_CHECK  # the engine reports it, as for any check
    return RunValidator(comparator, check, expect, message, path, COMPARATORS.get(comparator))


@text_cache(maxsize=4096)
def cached_validator(
    comparator: str, check: Any, _check_type: type, expect: Any, _expect_type: type, message: str
) -> RunValidator:
    """``run_validator``, once per distinct check: testcases repeat the same checks endlessly.
    The types are part of the key: 1, 1.0 and True are equal but not the same check."""
    return run_validator(comparator, check, expect, message)


@dataclass(slots=True)
class RunRequest:
    method: str
    url: str
    params: dict[str, Any]
    headers: dict[str, Any]
    has_json: bool  # json may be null and still be the body (sent as `null`)
    json_body: Any
    data: str | dict[Any, Any] | None
    cookies: dict[str, Any]
    timeout: float | None
    allow_redirects: bool
    verify: bool | None
    # HttpRunner's multipart form: a value naming a project file (text with a /) is sent as
    # that file, any other value as a text field
    upload: dict[str, Any] | None


@dataclass(slots=True)
class RunStep:
    """A request step (``request`` set) or a testcase step (``testcase`` set)."""

    name: str
    request: RunRequest | None
    testcase: str | None
    variables: dict[str, Any]
    extract: dict[str, str]
    validators: list[RunValidator]
    export: tuple[str, ...]
    retry_times: int
    retry_interval: float
    max_response_ms: float | None
    degraded_response_ms: float | None
    setup_hooks: tuple[Hook, ...]
    teardown_hooks: tuple[Hook, ...]


@dataclass(slots=True)
class RunConfig:
    name: str
    base_url: str
    variables: dict[str, Any]
    parameters: Parameters
    headers: dict[str, Any]
    verify: bool
    export: tuple[str, ...]
    max_response_ms: float | None
    degraded_response_ms: float | None
    setup_hooks: tuple[Hook, ...]
    teardown_hooks: tuple[Hook, ...]

    def file_paths(self) -> list[str]:
        return file_paths(self.parameters)

    def parameter_combinations(
        self, csv_files: Mapping[str, bytes] | None = None
    ) -> list[dict[str, Any]]:
        return parameter_combinations(self.parameters, csv_files)


@dataclass(slots=True)
class RunTestcase:
    config: RunConfig
    teststeps: list[RunStep]


def file_paths(parameters: Parameters) -> list[str]:
    """The project files CSV parameters name."""
    return [path for path in map(csv_path, parameters.values()) if path]


def parameter_combinations(
    parameters: Parameters, csv_files: Mapping[str, bytes] | None = None
) -> list[dict[str, Any]]:
    """HttpRunner's Cartesian product: one dict of values per testcase to run.
    ``csv_files``: the bytes of the files ``${P(path)}`` values name (see file_paths)."""
    axes: list[list[dict[str, Any]]] = []
    for key, values in parameters.items():
        names = key.split("-")
        if isinstance(values, str):
            path = csv_path(values) or ""
            axes.append(csv_rows((csv_files or {})[path], names, path))
        elif len(names) == 1:
            axes.append([{key: v} for v in values])
        else:
            axes.append([dict(zip(names, item, strict=True)) for item in values])
    total = 1
    for axis in axes:
        total *= len(axis)
    if total > MAX_PARAMETER_COMBINATIONS:
        raise RunnerError(
            f"{total} parameter combinations; at most {MAX_PARAMETER_COMBINATIONS}"
        )
    return [
        {k: v for part in combo for k, v in part.items()} for combo in product(*axes)
    ]
