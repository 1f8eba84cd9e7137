"""POST /modules/{id}/import and /projects/{id}/import against the emulator."""

from __future__ import annotations

import json

import pytest

from tests.functional.catalog.conftest import Api
from tests.functional.importers.conftest import fixture_text


@pytest.fixture
def alice(client, make_user) -> Api:
    return Api(client, make_user("alice"))


def _project(api: Api, name: str = "shop") -> str:
    answer = api.post("/projects", {"name": name})
    assert answer.status == 201, answer.body
    return answer.body["id"]


def _module(api: Api, project_id: str, name: str = "imported") -> str:
    answer = api.post(f"/projects/{project_id}/modules", {"name": name})
    assert answer.status == 201, answer.body
    return answer.body["id"]


def _curl_lines(count: int) -> str:
    return "\n".join(f"curl http://api.test/items/{i}" for i in range(count))


def test_a_module_import_creates_testcases_and_answers_the_report(alice, ddb_calls):
    project = _project(alice)
    module = _module(alice, project)
    ddb_calls.clear()
    answer = alice.post(
        f"/modules/{module}/import?format=postman", raw=fixture_text("shop.postman_collection.json")
    )
    assert answer.status == 201, answer.body
    assert [t["name"] for t in answer.body["testcases"]] == ["Auth", "Orders", "Shop API"]
    assert answer.body["format"] == "postman"
    assert {"converted", "warnings", "not_converted"} <= set(answer.body["report"])
    assert ddb_calls == [
        "GetItem",
        "GetItem",
        "BatchGetItem",
        "TransactWriteItems",
    ]  # auth, module, names, write
    stored = alice.get(f"/testcases/{answer.body['testcases'][1]['id']}").body
    assert [s["name"] for s in stored["testcase"]["teststeps"]][0] == "List open orders"
    module_view = alice.get(f"/modules/{module}").body
    project_view = alice.get(f"/projects/{project}").body
    assert module_view["testcase_count"] == 3 and project_view["testcase_count"] == 3


def test_names_that_clash_get_a_suffix(alice):
    module = _module(alice, _project(alice))
    source = fixture_text("api_docs.curl")
    first = alice.post(f"/modules/{module}/import", raw=source, content_type="text/plain")
    again = alice.post(f"/modules/{module}/import", raw=source, content_type="text/plain")
    assert first.status == again.status == 201
    assert first.body["testcases"][0]["name"] == "POST customers"
    assert again.body["testcases"][0]["name"] == "POST customers (2)"
    assert any("imported as 'POST customers (2)'" in w["message"] for w in again.body["report"]["warnings"])
    listing = alice.get(f"/modules/{module}/testcases").body["items"]
    assert sorted(t["name"] for t in listing) == ["POST customers", "POST customers (2)"]


def test_dry_run_answers_documents_and_saves_nothing(alice, ddb_calls):
    module = _module(alice, _project(alice))
    ddb_calls.clear()
    answer = alice.post(
        f"/modules/{module}/import?dry_run=1",
        raw=fixture_text("petstore.openapi.yaml"),
        content_type="application/yaml",
    )
    assert answer.status == 200, answer.body
    assert ddb_calls == ["GetItem", "GetItem", "GetItem"]  # auth, module, project: no write
    assert answer.body["dry_run"] is True
    first = answer.body["testcases"][0]
    assert first["name"] == "listPets" and first["testcase"]["teststeps"][0]["request"]["method"] == "GET"
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 0


def test_a_project_import_makes_modules_from_folders_and_tags(alice, ddb_calls):
    project = _project(alice)
    _module(alice, project, "Auth")  # taken: the folder's module becomes "Auth (2)"
    ddb_calls.clear()
    answer = alice.post(f"/projects/{project}/import", raw=fixture_text("shop.postman_collection.json"))
    assert answer.status == 201, answer.body
    modules = {m["name"]: m["testcase_count"] for m in answer.body["modules"]}
    assert modules == {"Auth (2)": 2, "Orders": 2, "Orders / Admin": 3, "Shop API": 2}
    assert len(answer.body["testcases"]) == 9
    # auth, project, module names (one clash: a second look for the suffixes), one transaction
    assert ddb_calls == ["GetItem", "GetItem", "BatchGetItem", "BatchGetItem", "TransactWriteItems"]
    view = alice.get(f"/projects/{project}").body
    assert (view["module_count"], view["testcase_count"]) == (5, 9)
    tags = alice.post(
        f"/projects/{project}/import?format=openapi&per=tag",
        raw=fixture_text("petstore.openapi.yaml"),
        content_type="application/yaml",
    )
    assert tags.status == 201, tags.body
    assert sorted(m["name"] for m in tags.body["modules"]) == ["admin", "default", "pets"]


def test_a_big_import_is_a_few_transactions_with_exact_counts(alice, ddb_calls):
    project = _project(alice)
    module = _module(alice, project)
    ddb_calls.clear()
    # one curl command per line: one testcase of 120 steps, so make 120 testcases with openapi
    paths = {
        f"/items/{i}": {
            "get": {
                "operationId": f"item{i}",
                "tags": [f"t{i % 3}"],
                "responses": {"200": {"description": "ok"}},
            }
        }
        for i in range(120)
    }
    source = json.dumps({"openapi": "3.1.0", "info": {"title": "many"}, "paths": paths})
    answer = alice.post(f"/modules/{module}/import", raw=source)
    assert answer.status == 201, answer.body
    assert len(answer.body["testcases"]) == 120
    assert ddb_calls.count("TransactWriteItems") == 3  # 49 + 49 + 22
    assert ddb_calls == ["GetItem", "GetItem", "BatchGetItem", "BatchGetItem"] + ["TransactWriteItems"] * 3
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 120
    ddb_calls.clear()
    into_project = alice.post(f"/projects/{project}/import", raw=source)
    assert into_project.status == 201
    # 3 modules + 120 testcases = 246 items: 3 transactions
    assert ddb_calls.count("TransactWriteItems") == 3
    counts = {m["name"]: m["testcase_count"] for m in alice.get(f"/projects/{project}/modules").body["items"]}
    assert counts == {"imported": 120, "t0": 40, "t1": 40, "t2": 40}
    assert alice.get(f"/projects/{project}").body["testcase_count"] == 240


def test_limits_and_bad_sources(alice, monkeypatch):
    from chalicelib.core.settings import reset_settings

    project = _project(alice)
    module = _module(alice, project)
    answer = alice.post(f"/modules/{module}/import", raw="{not json")
    assert answer.status == 400 and "body" in answer.error["fields"]
    answer = alice.post(f"/modules/{module}/import?format=soap", raw="curl http://x/")
    assert answer.status == 400 and answer.error["fields"] == {"format": "one of postman, har, openapi, curl"}
    answer = alice.post(f"/modules/{module}/import", raw="[" * 100_000)
    assert answer.status == 400 and "nested more than" in answer.error["fields"]["body"]
    answer = alice.post(f"/modules/{module}/import", raw="")
    assert answer.status == 400
    answer = alice.post(
        f"/modules/{module}/import?folders=flat", raw=fixture_text("shop.postman_collection.json")
    )
    assert answer.status == 400 and "folders" in answer.error["fields"]
    answer = alice.post(f"/modules/{module}/import?dry_run=maybe", raw="curl http://x/")
    assert answer.status == 400 and "dry_run" in answer.error["fields"]
    answer = alice.post(
        f"/modules/{module}/import", raw="curl " + "x" * (1024 * 1024), content_type="text/plain"
    )
    assert answer.status == 413
    monkeypatch.setenv("HAT_IMPORT_MAX_TESTCASES", "2")
    monkeypatch.setenv("HAT_IMPORT_MAX_MODULES", "1")
    reset_settings()
    answer = alice.post(f"/modules/{module}/import", raw=fixture_text("shop.postman_collection.json"))
    assert answer.status == 400 and answer.error["code"] == "too_many_testcases"
    answer = alice.post(
        f"/projects/{project}/import?format=openapi",
        raw=json.dumps(
            {
                "openapi": "3.1.0",
                "info": {"title": "t"},
                "paths": {
                    "/a": {"get": {"tags": ["x"], "responses": {}}},
                    "/b": {"get": {"tags": ["y"], "responses": {}}},
                },
            }
        ),
    )
    assert answer.status == 400 and answer.error["code"] == "too_many_modules"
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 0


def test_a_testcase_over_the_size_limit_is_reported_not_imported(alice, monkeypatch):
    from chalicelib.core.settings import reset_settings

    module = _module(alice, _project(alice))
    monkeypatch.setenv("HAT_TESTCASE_MAX_BYTES", "300")
    reset_settings()
    answer = alice.post(f"/modules/{module}/import", raw="curl http://x/a\n", content_type="text/plain")
    small = answer.body["testcases"]
    big = alice.post(
        f"/modules/{module}/import", raw="curl http://x/a -d " + "y" * 400, content_type="text/plain"
    )
    assert answer.status == 201 and len(small) == 1
    assert big.status == 200 and big.body["testcases"] == []
    assert "bytes; a test case is at most 300" in big.body["report"]["not_converted"][-1]["why"]


def test_strangers_get_404_and_nothing_changes(alice, client, make_user):
    project = _project(alice)
    module = _module(alice, project)
    mallory = Api(client, make_user("mallory"))
    for path in (
        f"/modules/{module}/import",
        f"/projects/{project}/import",
        f"/modules/{module}/import?dry_run=1",
        "/modules/nope/import",
    ):
        answer = mallory.post(path, raw="curl http://x/", content_type="text/plain")
        assert answer.status == 404, (path, answer.body)
    assert alice.get(f"/projects/{project}").body["testcase_count"] == 0


def test_a_name_taken_while_the_import_is_written_undoes_it_all(alice, aws, monkeypatch):
    """The second transaction is refused (its name claimed meanwhile): the first is undone."""
    from chalicelib.catalog.models import NameClaim, testcase_claim
    from tests.support import hook_dynamodb

    project = _project(alice)
    module = _module(alice, project)
    writes = []

    def claim_a_name_before_the_second_write(model, params, **_kwargs) -> None:
        if model.name == "TransactWriteItems":
            writes.append(1)
            if len(writes) == 2:
                NameClaim(testcase_claim(module, "item60"), target_id="someone else").save()

    unhook = hook_dynamodb(monkeypatch, claim_a_name_before_the_second_write)
    paths = {
        f"/items/{i}": {"get": {"operationId": f"item{i}", "responses": {"200": {"description": "ok"}}}}
        for i in range(70)
    }
    answer = alice.post(
        f"/modules/{module}/import",
        raw=json.dumps({"openapi": "3.1.0", "info": {"title": "t"}, "paths": paths}),
    )
    unhook()
    assert answer.status == 409 and answer.error["code"] == "concurrent_change"
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 0
    assert alice.get(f"/modules/{module}/testcases").body["items"] == []
    assert alice.get(f"/projects/{project}").body["testcase_count"] == 0


def test_the_old_import_keeps_working(alice):
    module = _module(alice, _project(alice))
    yaml_text = "config:\n  name: from yaml\nteststeps:\n  - name: s\n    request: {method: GET, url: /}\n"
    answer = alice.post(f"/modules/{module}/testcases/import", raw=yaml_text, content_type="application/yaml")
    assert answer.status == 201
