"""OpenAPI 3.1 and Swagger 2.0 to smoke testcases: parameters, bodies, security, schemas."""

from __future__ import annotations

import json

import pytest

from chalicelib.importers import openapi
from chalicelib.importers.common import SourceInvalid
from chalicelib.importers.convert import convert_text
from chalicelib.runner.comparators import compare
from chalicelib.runner.schema import validate_testcase
from tests.unit.importers.conftest import fixture_text


@pytest.fixture
def petstore():
    return convert_text(fixture_text("petstore.openapi.yaml"))


def step(conversion, name: str) -> dict:
    item = next(t for t in conversion.testcases if t.name == name)
    validate_testcase(item.document)
    return item.document


def test_one_testcase_per_operation_grouped_by_tag(petstore):
    assert petstore.format == "openapi"
    assert [(t.name, t.group) for t in petstore.testcases] == [
        ("listPets", "pets"),
        ("createPet", "pets"),
        ("showPetById", "pets"),
        ("replacePet", "admin"),
        ("deletePet", "admin"),
        ("uploadPhoto", "pets"),
        ("health", "default"),
        ("external", "default"),
    ]
    assert petstore.testcases[0].document["config"]["base_url"] == "http://petstore.test/v1"


def test_per_tag_puts_operations_in_one_testcase():
    conversion = convert_text(fixture_text("petstore.openapi.yaml"), options={"per": "tag"})
    layout = {t.name: [s["request"]["method"] for s in t.document["teststeps"]] for t in conversion.testcases}
    assert layout == {
        "pets": ["GET", "POST", "GET", "POST"],
        "admin": ["PUT", "DELETE"],
        "default": ["GET", "GET"],
    }


def test_parameters_from_examples_defaults_and_schemas(petstore):
    listing = step(petstore, "listPets")["teststeps"][0]["request"]
    assert listing["params"] == {"limit": 20}  # a $ref'd required parameter; optional "tag" left out
    assert listing["headers"]["X-Request-Id"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    one = step(petstore, "showPetById")
    assert one["config"]["variables"] == {"petId": 7}
    assert one["teststeps"][0]["request"]["url"] == "/pets/${petId}"
    assert one["teststeps"][0]["request"]["params"] == {"depth": 1}  # optional, but has a default
    assert one["teststeps"][0]["request"]["cookies"] == {"session": "abc"}


def test_bodies_from_examples_and_synthesised_with_cycles_and_one_of(petstore):
    assert step(petstore, "createPet")["teststeps"][0]["request"]["json"] == {
        "name": "rex",
        "tag": "dog",
        "kind": {"barks": True},
    }
    replaced = step(petstore, "replacePet")["teststeps"][0]["request"]["json"]
    # allOf merged; id is readOnly; parent (a cycle through oneOf) stops; kind is the first oneOf
    assert replaced == {"name": "string", "tag": "string", "kind": {"lives": 1}, "parent": None}


def test_security_becomes_headers_fed_by_variables(petstore):
    assert step(petstore, "listPets")["teststeps"][0]["request"]["headers"]["X-API-Key"] == "${api_key}"
    assert step(petstore, "replacePet")["teststeps"][0]["request"]["headers"] == {
        "Authorization": "Bearer ${bearer}"
    }
    deleted = step(petstore, "deletePet")["teststeps"][0]["request"]["headers"]
    assert deleted == {
        "Authorization": "Basic ${base64($basic_username:$basic_password)}",
        "X-API-Key": "${api_key}",
    }
    assert "headers" not in step(petstore, "health")["teststeps"][0]["request"]  # security: []


def test_status_and_schema_validators(petstore):
    validators = step(petstore, "showPetById")["teststeps"][0]["validate"]
    assert validators[0] == {"equal": ["status_code", 200]}
    comparator, (check, schema) = next(iter(validators[1].items()))
    assert (comparator, check) == ("json_schema", "body")
    plain = json.loads(json.dumps(schema).replace("$$", "$"))  # what the runner renders
    assert plain["$defs"]["Pet"]["allOf"][1]["properties"]["parent"]["oneOf"][0] == {"$ref": "#/$defs/Pet"}
    good = {"id": 7, "name": "rex", "kind": {"lives": 9}, "parent": {"id": 1, "name": "old", "parent": None}}
    assert compare("json_schema", good, plain) is None
    bad = {"id": "7", "name": "Rex", "parent": {"name": 3}}
    problem = compare("json_schema", bad, plain)
    assert problem is not None and "body" in problem
    assert step(petstore, "health")["teststeps"][0]["validate"] == [
        {"greater_or_equals": ["status_code", 200]},
        {"less_than": ["status_code", 300]},
    ]  # 2XX


def test_what_is_not_converted(petstore):
    reasons = {e["what"]: e["why"] for e in petstore.report.not_converted}
    assert "image/png" in reasons["POST /pets/{petId}/photo: request body"]
    assert reasons["TRACE /health"] == "not a method hat sends"
    assert "external $ref" in reasons["GET /external: response schema"]
    assert "api_key" in petstore.report.warnings[0]["what"]


def test_swagger_2():
    conversion = convert_text(fixture_text("orders.swagger.json"))
    listing = step(conversion, "listOrders")
    assert listing["config"]["base_url"] == "http://orders.test"
    assert listing["teststeps"][0]["request"]["params"] == {"status": "open"}
    assert listing["teststeps"][0]["request"]["headers"] == {"Authorization": "${token}"}
    created = step(conversion, "createOrder")["teststeps"][0]
    assert created["request"]["json"] == {"sku": "SKU-1", "total": 1, "status": "string"}
    schema = json.loads(json.dumps(created["validate"][1]["json_schema"][1]).replace("$$", "$"))
    assert compare("json_schema", {"id": "o1", "total": 0.5}, schema) is None
    assert compare("json_schema", {"total": 0}, schema) is not None  # exclusiveMinimum: true, Draft 4 style
    notes = step(conversion, "POST /orders/{id}/notes")["teststeps"][0]["request"]
    assert notes["data"] == {"text": "gift wrap"} and notes["url"] == "/orders/${id}/notes"
    assert any("file parameter" in e["what"] for e in conversion.report.not_converted)


def test_ref_cycles_and_depth_are_bounded():
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(200)}
    schemas["S200"] = {"$ref": "#/components/schemas/S0"}
    schemas["Tree"] = {
        "type": "object",
        "properties": {
            "kids": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
            "name": {"type": "string"},
        },
    }
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t"},
        "components": {"schemas": schemas},
        "paths": {
            "/a": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}
                    },
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}},
                        }
                    },
                }
            },
            "/t": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tree"}}}
                    },
                    "responses": {"200": {"description": ""}},
                }
            },
        },
    }
    conversion = openapi.convert(document)
    by_name = {t.name: t.document for t in conversion.testcases}
    assert "json" not in by_name["POST /a"]["teststeps"][0]["request"]  # an endless chain synthesises nothing
    # a recursive schema stops where it meets itself again
    assert by_name["POST /t"]["teststeps"][0]["request"]["json"] == {"kids": [], "name": "string"}
    # the cycle stays a cycle in the validator's schema; applying it fails the check, not the run
    schema = json.loads(
        json.dumps(by_name["POST /a"]["teststeps"][0]["validate"][1]["json_schema"][1]).replace("$$", "$")
    )
    assert len(schema["$defs"]) == 201
    assert compare("json_schema", {}, schema) is not None


def test_refusals():
    with pytest.raises(SourceInvalid):
        openapi.convert({"openapi": "3.1.0"})
    with pytest.raises(SourceInvalid) as refused:
        convert_text("openapi: 3.1.0\npaths: {}\n", "openapi", {"per": "path"})
    assert "per" in refused.value.fields
