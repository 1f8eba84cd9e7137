"""Every converted fixture validated and run against the shop server it was recorded from."""

from __future__ import annotations

import json

import pytest

from chalicelib.importers.convert import convert_text
from tests.functional.importers.conftest import RECEIPT, failures, fixture_text, project_files


def _postman(shop, folders: str):
    collection = json.loads(fixture_text("shop.postman_collection.json"))
    environment = json.loads(fixture_text("shop.postman_environment.json"))
    environment["values"][0]["value"] = shop.url
    return convert_text(
        json.dumps({"collection": collection, "environment": environment}), options={"folders": folders}
    )


def test_the_postman_collection_passes_as_newman_runs_it(shop, run_on, tmp_path):
    # the receipt its form-data file field sends, where the report says to upload it
    files = project_files(tmp_path, {"files/receipt.pdf": RECEIPT})
    report = run_on(_postman(shop, "collection"), base_url=False, files=files)
    assert failures(report) == []
    assert report["testcases"][0]["steps"][0]["status_code"] == 200
    assert len(report["testcases"][0]["steps"]) == 9


def test_testcases_mode_loses_only_what_the_report_warned_of(shop, run_on):
    conversion = _postman(shop, "testcases")
    report = run_on(conversion, base_url=False)
    # Orders needs the token the Auth testcase's script set: the report said so; the rest pass
    assert {case["name"] for case in report["testcases"] if not case["success"]} == {"Orders"}
    assert any(w["what"] == "variable 'token' in 'Orders'" for w in conversion.report.warnings)
    passed = {case["name"] for case in report["testcases"] if case["success"]}
    assert passed == {"Auth", "Shop API"}


def test_modules_mode_runs_each_request_alone(shop, run_on, tmp_path):
    conversion = _postman(shop, "modules")
    files = project_files(tmp_path, {"files/receipt.pdf": RECEIPT})
    report = run_on(conversion, base_url=False, variables={"orderId": "ord-000042"}, files=files)
    broken = {case["name"] for case in report["testcases"] if not case["success"]}
    warned = {
        w["what"].split(" in ")[1].strip("'") for w in conversion.report.warnings if " in '" in w["what"]
    }
    assert broken <= warned  # only requests whose token came from another request's script


def test_the_har_recording_replays(run_on):
    for body_validators in ("0", "1"):
        conversion = convert_text(
            fixture_text("shop_session.har"), options={"body_validators": body_validators}
        )
        report = run_on(conversion)
        assert failures(report) == [], body_validators
        steps = report["testcases"][0]["steps"]
        assert [s["status_code"] for s in steps] == [200, 200, 200, 200, 200, 302, 200, 200]


@pytest.mark.parametrize("per", ["operation", "tag"])
def test_the_openapi_document_passes_against_a_server_that_keeps_it(run_on, per):
    conversion = convert_text(fixture_text("petstore.openapi.yaml"), options={"per": per})
    assert failures(run_on(conversion, "/v1")) == []


def test_the_schema_validator_catches_an_answer_that_breaks_the_schema(run_on):
    conversion = convert_text(fixture_text("petstore.openapi.yaml"))
    documents = [t.document for t in conversion.testcases if t.name in ("listPets", "showPetById")]
    for document in documents:
        document["teststeps"][0]["request"].setdefault("headers", {})["X-Break-Schema"] = "1"
    problems = failures(run_on(documents, "/v1"))
    assert len(problems) == 2
    assert all("is not of type" in p for p in problems), problems
    assert any("body[0].id" in p for p in problems) and any("body.id" in p for p in problems)


def test_the_swagger_document_passes(run_on):
    assert failures(run_on(convert_text(fixture_text("orders.swagger.json")))) == []


def test_curl_lines_send_what_curl_sends(run_on, tmp_path):
    """Each command against the shop's echo; checks on the echo say what arrived."""
    conversion = convert_text(fixture_text("api_docs.curl"))
    steps = conversion.testcases[0].document["teststeps"]
    expectations = [
        {
            "body.method": "POST",
            "body.body": "name=Jenny Rosen&email=jennyrosen%40example.com",
            "body.headers.authorization": "Basic c2tfdGVzdF80ZUMzOUhxTHlqV0Rhcmp0VDF6ZHA3ZGM6",
        },
        {"body.query.state": "open", "body.headers.x-github-api-version": "2022-11-28"},
        {
            "body.path": "/2010-04-01/Accounts/AC123/Messages.json",
            "body.body": "Body=Hi+there+%26+welcome&From=%2B15557122661&To=%2B15558675310",
            "body.headers.authorization": "Basic QUMxMjM6c2VjcmV0",
        },
        {"body.body": '{"text": "Hello, World!"}'},
        {"body.method": "POST"},  # a multipart upload: test_run_uploads.py reads its parts
        {
            "body.query.q": "hat tests",
            "body.query.page": "2",
            "body.headers.user-agent": "hat/1.0",
            "body.cookies.theme": "dark",
            "body.method": "GET",
        },
        {"status_code": 200},  # HEAD: no body
        {"body.body": '{"name": "rex", "price": "$5"}', "body.headers.accept": "application/json"},
    ]
    documents = []
    for step, checks in zip(steps, expectations, strict=True):
        step["validate"] = [{"equal": [path, value]} for path, value in checks.items()]
        host_relative = step["request"]["url"].split("://", 1)[-1]
        step["request"]["url"] = (
            "/" + host_relative.split("/", 1)[1]
            if "://" in step["request"]["url"]
            else step["request"]["url"]
        )
        documents.append({"config": {"name": step["name"]}, "teststeps": [step]})
    assert failures(run_on(documents, files=project_files(tmp_path, {"files/photo.png": b"png"}))) == []


def test_the_chrome_cmd_line_sends_its_body(run_on):
    conversion = convert_text(fixture_text("chrome_copy_as_curl_cmd.txt"))
    document = conversion.testcases[0].document
    document["teststeps"][0]["validate"] = [
        {"equal": ["status_code", 201]},
        {"equal": ["body.sku", "SKU-1"]},
        {"equal": ["body.quantity", 2]},
    ]
    assert failures(run_on([document])) == []
