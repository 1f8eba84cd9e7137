import json

import pytest
from pydantic import BaseModel, Field

from chalicelib.core import errors
from chalicelib.core.http import error_response
from chalicelib.core.validation import error_path, validate


class Step(BaseModel):
    name: str = Field(min_length=1)
    retries: int = 0


class Body(BaseModel):
    title: str
    steps: list[Step]


def test_error_path_joins_names_and_indexes():
    assert error_path(("teststeps", 2, "validate", 0)) == "teststeps[2].validate[0]"
    assert error_path(()) == "body"


def test_validate_names_every_bad_field_with_its_path():
    with pytest.raises(errors.ValidationFailed) as caught:
        validate(Body, {"steps": [{"name": "ok"}, {"name": "", "retries": "x"}]})
    fields = caught.value.fields
    assert set(fields) == {"title", "steps[1].name", "steps[1].retries"}
    assert caught.value.status_code == 400
    assert "title" in caught.value.message


def test_error_response_has_the_api_shape_and_headers():
    response = error_response(errors.TooManyRequests("slow down", retry_after_seconds=42))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"
    assert response.body == {"error": {"code": "too_many_requests", "message": "slow down"}}


def test_retry_after_is_at_least_one_second():
    assert errors.ServiceUnavailable("x", retry_after_seconds=0).headers["Retry-After"] == "1"


def test_fields_appear_only_when_present():
    body = errors.NotFound("no such project").to_body()
    assert body == {"error": {"code": "not_found", "message": "no such project"}}
    body = errors.ValidationFailed({"name": "required"}).to_body()
    assert json.loads(json.dumps(body))["error"]["fields"] == {"name": "required"}
