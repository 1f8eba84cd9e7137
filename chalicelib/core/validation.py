"""Request-body validation: pydantic v2 models, every bad field named in a 400."""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from chalice.app import Request

from chalicelib.core.errors import BadRequest, ValidationFailed

if TYPE_CHECKING:  # pydantic loads with the first body it validates, not at cold start
    from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound="BaseModel")


def error_path(location: tuple[str | int, ...]) -> str:
    """('teststeps', 2, 'validate', 0) -> 'teststeps[2].validate[0]'; "body" for the whole body.
    The runner's format (runner/errors.py), so a testcase's fields read the same either way."""
    from chalicelib.runner.errors import location_path

    return location_path(location) or "body"


def fields_from(error: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        # Skip pydantic's internal tags like 'function-after[...]' in the location.
        location = tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))
        fields.setdefault(error_path(location), item["msg"])
    return fields


def read_json_body(request: Request) -> object:
    """The body's JSON, through the bounded loader (depth, NaN, surrogates: core/parsing.py)."""
    from chalicelib.core.parsing import load_json_bounded

    raw = request.raw_body
    if not raw:
        raise BadRequest("a JSON request body is required", code="missing_body")
    return load_json_bounded(raw)


def validate(model: type[Model], data: object) -> Model:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(fields_from(error)) from error


def parse_body(request: Request, model: type[Model]) -> Model:
    return validate(model, read_json_body(request))
