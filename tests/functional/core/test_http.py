"""The HTTP middleware and health route through Chalice's test client."""
import json

import pytest
from chalice import Chalice
from chalice.test import Client
from pydantic import BaseModel

from chalicelib.core.errors import Conflict, TooManyRequests
from chalicelib.core.http import register_http_middleware
from chalicelib.core.validation import parse_body


class Thing(BaseModel):
    name: str
    size: int


@pytest.fixture
def probe_app(monkeypatch):
    monkeypatch.setenv("HAT_MAX_BODY_BYTES", "64")
    from chalicelib.core.settings import reset_settings

    reset_settings()
    probe = Chalice(app_name="probe")
    register_http_middleware(probe)

    @probe.route("/things", methods=["POST"])
    def create_thing():
        thing = parse_body(probe.current_request, Thing)
        if thing.name == "taken":
            raise Conflict("a thing with that name exists", fields={"name": "taken"})
        if thing.name == "busy":
            raise TooManyRequests("slow down", retry_after_seconds=30)
        return {"name": thing.name}

    @probe.route("/boom")
    def boom():
        raise RuntimeError("a bug")

    yield probe
    reset_settings()


def post(client, body, headers=None):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.http.post("/things", body=raw,
                            headers={"Content-Type": "application/json", **(headers or {})})


def error_of(response):
    return json.loads(response.body)["error"]


def test_health_names_stage_and_version(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert json.loads(response.body) == {"status": "ok", "stage": "dev", "version": "0.1.0"}


def test_valid_body_reaches_the_view(probe_app):
    with Client(probe_app, stage_name="local") as client:
        response = post(client, {"name": "a", "size": 1})
    assert response.status_code == 200
    assert json.loads(response.body) == {"name": "a"}


def test_bad_fields_are_400_naming_each(probe_app):
    with Client(probe_app, stage_name="local") as client:
        response = post(client, {"size": "big"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_field"
    assert set(error["fields"]) == {"name", "size"}


@pytest.mark.parametrize("raw, code", [("{not json", "invalid_json"), ("", "missing_body")])
def test_unparsable_or_missing_body_is_400(probe_app, raw, code):
    with Client(probe_app, stage_name="local") as client:
        response = post(client, raw)
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_body_over_the_limit_is_413_before_the_view(probe_app):
    with Client(probe_app, stage_name="local") as client:
        response = post(client, {"name": "x" * 100, "size": 1})
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_typed_errors_map_to_status_and_headers(probe_app):
    with Client(probe_app, stage_name="local") as client:
        conflict = post(client, {"name": "taken", "size": 1})
        busy = post(client, {"name": "busy", "size": 1})
    assert conflict.status_code == 409
    assert error_of(conflict) == {"code": "conflict", "message": "a thing with that name exists",
                                  "fields": {"name": "taken"}}
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == "30"


def test_chalice_own_errors_get_our_shape(probe_app):
    with Client(probe_app, stage_name="local") as client:
        wrong_type = post(client, "a=b", headers={"Content-Type": "text/plain"})
        wrong_method = client.http.get("/things")
        bug = client.http.get("/boom")
    assert wrong_type.status_code == 415
    assert error_of(wrong_type)["code"] == "unsupported_media_type"
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["code"] == "method_not_allowed"
    assert bug.status_code == 500
    assert error_of(bug) == {"code": "internal_error", "message": "An internal server error occurred."}
