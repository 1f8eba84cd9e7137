"""Postman collections v2.0 / v2.1 to testcases: folders, variables, auth, bodies, scripts."""

from __future__ import annotations

import json

import pytest

from chalicelib.importers import postman
from chalicelib.importers.common import SourceInvalid
from chalicelib.importers.convert import convert_text
from chalicelib.runner.schema import validate_testcase
from tests.unit.importers.conftest import fixture_json


def steps_of(conversion) -> dict[str, dict]:
    return {step["name"]: step for t in conversion.testcases for step in t.document["teststeps"]}


def test_every_testcase_is_valid_and_named_uniquely_in_each_mode(collection):
    for mode in postman.FOLDER_MODES:
        conversion = postman.convert(collection, folders=mode)
        assert conversion.testcases, mode
        for item in conversion.testcases:
            validate_testcase(item.document)
            assert item.document["config"]["name"] == item.name
        names = [(t.group, t.name.casefold()) for t in conversion.testcases]
        assert len(names) == len(set(names))


def test_top_level_folders_are_testcases_and_deeper_folders_name_the_steps(collection):
    conversion = postman.convert(collection, folders="testcases")
    layout = {t.name: [s["name"] for s in t.document["teststeps"]] for t in conversion.testcases}
    assert layout == {
        "Auth": ["Log in", "Who am I"],
        "Orders": [
            "List open orders",
            "Create order",
            "Admin / Get order",
            "Admin / Add a note",
            "Admin / Attach a receipt",
        ],
        "Shop API": ["Search (GraphQL)", "Health (plain text body)"],
    }
    warned = {w["what"]: w["message"] for w in conversion.report.warnings}
    assert "set by a script in 'Auth'" in warned["variable 'token' in 'Orders'"]


def test_modules_mode_groups_requests_by_folder_path(collection):
    conversion = postman.convert(collection, folders="modules")
    groups = {}
    for item in conversion.testcases:
        groups.setdefault(item.group, []).append(item.name)
        assert len(item.document["teststeps"]) == 1
    assert groups == {
        "Auth": ["Log in", "Who am I"],
        "Orders": ["List open orders", "Create order"],
        "Orders / Admin": ["Get order", "Add a note", "Attach a receipt"],
        "Shop API": ["Search (GraphQL)", "Health (plain text body)"],
    }


def test_collection_mode_is_one_testcase_in_order(collection):
    [only] = postman.convert(collection, folders="collection").testcases
    assert [s["name"] for s in only.document["teststeps"]][:3] == [
        "Auth / Log in",
        "Auth / Who am I",
        "Orders / List open orders",
    ]


def test_variables_from_collection_folder_and_environment(collection):
    environment = fixture_json("shop.postman_environment.json")
    conversion = postman.convert({"collection": collection, "environment": environment}, folders="testcases")
    auth = next(t for t in conversion.testcases if t.name == "Auth").document
    # the environment wins over the collection (Postman's precedence); disabled values are left out
    assert auth["config"]["variables"]["baseUrl"] == "http://127.0.0.1:5000"
    assert "orderStatus" not in auth["config"]["variables"]
    assert "unused" not in auth["config"]["variables"]
    assert auth["config"]["base_url"] == "${baseUrl}"
    # a folder's variables ride on its steps
    assert auth["teststeps"][0]["variables"] == {"password": "s3cret-pass"}
    assert auth["teststeps"][0]["request"]["json"] == {"user": "${user}", "password": "${password}"}


def _with_secret(environment: dict) -> dict:
    secret = {"key": "api-token", "value": "tok-123456", "type": "secret", "enabled": True}
    return {**environment, "values": [*environment["values"], secret]}


def test_an_environment_file_can_go_into_a_project_environment_with_its_secrets(collection):
    environment = _with_secret(fixture_json("shop.postman_environment.json"))
    conversion = postman.convert({"collection": collection, "environment": environment}, folders="testcases",
                                 environment_to="staging")
    assert conversion.environment == {  # names as the testcases use them
        "name": "staging", "variables": {"baseUrl": "http://127.0.0.1:5000"},
        "secrets": {"api_token": "tok-123456"}}
    auth = next(t for t in conversion.testcases if t.name == "Auth").document
    assert "baseUrl" not in auth["config"]["variables"]  # the run's environment gives it now
    assert auth["config"]["base_url"] == "${baseUrl}"
    converted = {entry["what"]: entry["into"] for entry in conversion.report.as_dict()["converted"]}
    assert converted["the environment's variables"] == "project environment 'staging': 1 variables, 1 secrets"
    warnings = " ".join(entry["message"] for entry in conversion.report.as_dict()["warnings"])
    assert "defined nowhere" not in warnings  # defined: in the project environment
    assert "collection variable 'baseUrl'" in json.dumps(conversion.report.as_dict()["warnings"])


def test_a_secret_value_is_never_written_into_a_testcase(collection):
    environment = _with_secret(fixture_json("shop.postman_environment.json"))
    conversion = postman.convert({"collection": collection, "environment": environment}, folders="collection")
    assert conversion.environment is None
    assert "tok-123456" not in json.dumps([t.document for t in conversion.testcases])
    assert conversion.testcases[0].document["config"]["variables"]["baseUrl"] == "http://127.0.0.1:5000"
    skipped = {entry["what"]: entry["why"] for entry in conversion.report.as_dict()["not_converted"]}
    assert "environment=<name>" in skipped["secret 'api_token'"]


def test_a_project_environment_needs_an_environment_file(collection):
    with pytest.raises(SourceInvalid) as info:
        postman.convert(collection, environment_to="staging")
    assert "environment" in info.value.fields
    with pytest.raises(SourceInvalid) as info:  # and applies to Postman only
        convert_text("curl http://x/", options={"environment": "staging"})
    assert "environment" in info.value.fields


def test_auth_is_inherited_and_noauth_stops_it(collection):
    steps = steps_of(postman.convert(collection, folders="collection"))
    assert "Authorization" not in steps["Auth / Log in"]["request"].get("headers", {})  # noauth
    assert steps["Auth / Who am I"]["request"]["headers"]["Authorization"] == "Bearer ${token}"  # collection
    basic = steps["Orders / Admin / Get order"]["request"]["headers"]["Authorization"]
    assert basic == "Basic YWRtaW46aHVudGVyMg=="  # admin:hunter2, from the Admin folder
    note = steps["Orders / Admin / Add a note"]["request"]["headers"]
    assert note == {"X-Api-Key": "admin-key"}  # the request's own API key replaces the folder's basic


def test_every_body_mode(collection):
    steps = steps_of(postman.convert(collection, folders="collection"))
    assert steps["Orders / Create order"]["request"]["json"] == {
        "sku": "SKU-1",
        "quantity": 2,
        "note": "costs $$5",
    }  # $ kept literal
    assert steps["Orders / Admin / Add a note"]["request"]["data"] == {"text": "${noteText}", "by": "${user}"}
    receipt = steps["Orders / Admin / Attach a receipt"]["request"]  # form-data with a file
    assert receipt["upload"] == {"kind": "receipt", "file": "files/receipt.pdf"}
    assert "data" not in receipt
    graphql = steps["Search (GraphQL)"]["request"]["json"]
    assert graphql == {
        "query": "query Orders($$s: String) { orders(status: $$s) { id } }",
        "variables": {"s": "open"},
    }
    text = steps["Health (plain text body)"]["request"]
    assert text["data"] == "ping ${user}" and text["params"] == {"id": "${uuid()}"}  # {{$guid}}


def test_query_path_variables_and_disabled_entries(collection):
    steps = steps_of(postman.convert(collection, folders="collection"))
    listing = steps["Orders / List open orders"]["request"]
    assert listing["url"] == "/orders" and listing["params"] == {"status": "open", "page": "1"}
    assert "X-Debug" not in listing["headers"]
    assert steps["Orders / Admin / Get order"]["request"]["url"] == "/orders/${orderId}"


def test_script_shapes_become_validators_and_extracts(collection):
    steps = steps_of(postman.convert(collection, folders="collection"))
    login = steps["Auth / Log in"]
    assert login["validate"] == [
        {"less_than": ["status_code", 500]},  # the collection's own test, on every request
        {"equal": ["status_code", 200]},
        {"equal": ["body.user.name", "${user}"]},
        {"equal": ["body.user.id", 7]},
        {"not_equal": ["headers.X-Csrf-Token", None]},
    ]
    assert login["extract"] == {"token": "body.token", "userId": "body.user.id"}
    me = steps["Auth / Who am I"]["validate"]
    assert {"contains": ["body.roles", "buyer"]} in me and {"type_match": ["body.name", "str"]} in me
    listing = steps["Orders / List open orders"]
    assert {"equal": ["headers.X-Request-Id", "req-1"]} in listing["validate"]
    assert {"equal": ["body.items[0].status", "open"]} in listing["validate"]
    assert listing["extract"] == {"orderId": "body.items[0].id"}
    graphql = steps["Search (GraphQL)"]["validate"]
    assert {"equal": ["status_code", 200]} in graphql  # the legacy tests["..."] = responseCode.code === 200
    health = steps["Health (plain text body)"]["validate"]
    assert {"not_equal": ["body.method", "GET"]} in health


def test_what_is_not_converted_is_listed(collection):
    report = postman.convert(collection, folders="collection").report
    not_converted = " | ".join(f"{e['what']}: {e['why']}" for e in report.not_converted)
    for expected in (
        "postman.setNextRequest(null)",
        "pm.response.text()",
        "pm.sendRequest",
        "oauth2 auth",
        "saved example response",
    ):
        assert expected in not_converted, expected
    assert 'console.log("logged in")' not in not_converted  # no effect on a verdict
    assert "file field 'file'" not in not_converted  # an upload now; the path to upload it to is warned
    upload = next(w for w in report.warnings if w["what"].endswith("file field 'file'"))
    assert "'files/receipt.pdf'" in upload["message"] and "'/home/ann/receipt.pdf'" in upload["message"]


def test_v2_0_auth_objects_and_string_urls():
    collection = {
        "info": {
            "name": "old",
            "schema": "https://schema.getpostman.com/json/collection/v2.0.0/collection.json",
        },
        "auth": {"type": "basic", "basic": {"username": "{{user}}", "password": "{{pass}}"}},
        "variable": [
            {"key": "user", "value": "ann"},
            {"key": "pass", "value": "pw"},
            {"key": "base-url", "value": "x"},
        ],
        "item": [
            {"name": "ping", "request": "https://api.example.com/{{base-url}}/ping"},
            {
                "name": "key",
                "request": {
                    "url": "api.example.com/q",
                    "method": "get",
                    "auth": {"type": "apikey", "apikey": {"key": "api_key", "value": "k", "in": "query"}},
                },
            },
        ],
    }
    conversion = postman.convert(collection)
    [item] = conversion.testcases
    ping, key = item.document["teststeps"]
    assert ping["request"]["headers"]["Authorization"] == "Basic ${base64($user:$pass)}"
    assert ping["request"]["url"] == "/${base_url}/ping"  # base-url renamed to a runner name
    assert item.document["config"]["variables"]["base_url"] == "x"
    assert key["request"]["url"] == "http://api.example.com/q" and key["request"]["params"] == {
        "api_key": "k"
    }
    validate_testcase(item.document)


def test_detection_and_refusals(collection):
    assert convert_text(json.dumps(collection)).format == "postman"
    with pytest.raises(SourceInvalid) as refused:
        postman.convert({"info": {}, "item": "nope"})
    assert "body" in refused.value.fields or "item" in refused.value.fields
    with pytest.raises(SourceInvalid) as refused:
        convert_text(json.dumps(collection), "postman", {"folders": "flat"})
    assert refused.value.fields == {"folders": "one of testcases, modules, collection"}
    with pytest.raises(SourceInvalid) as refused:
        convert_text(json.dumps(collection), None, {"per": "tag"})
    assert "per" in refused.value.fields


def test_an_invalid_result_is_reported_not_returned():
    collection = {
        "info": {"name": "c", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/"},
        "item": [
            {
                "name": "bad",
                "request": {
                    "method": "GET",
                    "url": "http://x/{{ok}}",
                    "header": [{"key": "X", "value": "${nope()}"}],
                },
            },
            {"name": "trace", "request": {"method": "TRACE", "url": "http://x/"}},
        ],
    }
    conversion = postman.convert(collection)
    # a literal "${nope()}" header is escaped, so the document stays valid
    assert conversion.testcases[0].document["teststeps"][0]["request"]["headers"] == {"X": "$${nope()}"}
    assert any("TRACE" in e["why"] for e in conversion.report.not_converted)
