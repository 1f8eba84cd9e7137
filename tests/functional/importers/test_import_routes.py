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


def _collection_with_environment(secret: str = "tok-123456") -> str:
    environment = json.loads(fixture_text("shop.postman_environment.json"))
    environment["values"].append({"key": "token", "value": secret, "type": "secret", "enabled": True})
    return json.dumps({"collection": json.loads(fixture_text("shop.postman_collection.json")),
                       "environment": environment})


def test_a_postman_environment_goes_into_a_project_environment_secrets_sealed(alice, aws, ddb_calls):
    project = _project(alice)
    kept = {"prod": {"base_url": "https://shop.example.com", "variables": {"region": "eu"},
                     "secrets": {"password": "prod-pass"}},
            "staging": {"base_url": "https://staging.example.com",
                        "variables": {"region": "us", "baseUrl": "old"}, "secrets": {"keep": "keep-me-1"}}}
    assert alice.patch(f"/projects/{project}", {"environments": kept}).status == 200

    preview = alice.post(f"/projects/{project}/import?environment=staging&dry_run=1",
                         raw=_collection_with_environment())
    assert preview.status == 200, preview.body
    assert preview.body["environment"] == {"name": "staging", "variables": ["baseUrl"], "secrets": ["token"]}
    assert alice.get(f"/projects/{project}").body["environments"]["staging"]["variables"]["baseUrl"] == "old"

    ddb_calls.clear()
    answer = alice.post(f"/projects/{project}/import?environment=staging", raw=_collection_with_environment())
    assert answer.status == 201, answer.body
    assert answer.body["environment"] == {"name": "staging", "variables": ["baseUrl"], "secrets": ["token"]}
    assert ddb_calls[:4] == ["GetItem", "GetItem", "UpdateItem", "GetItem"], ddb_calls  # auth, project, merge
    assert "tok-123456" not in json.dumps(answer.body)
    environments = alice.get(f"/projects/{project}").body["environments"]
    assert environments["prod"] == {"base_url": "https://shop.example.com", "variables": {"region": "eu"},
                                    "secrets": ["password"]}
    assert environments["staging"] == {"base_url": "https://staging.example.com",
                                       "variables": {"region": "us", "baseUrl": "http://127.0.0.1:5000"},
                                       "secrets": ["keep", "token"]}
    from chalicelib.catalog.models import Project

    stored = json.dumps(Project.get(project).environments)
    assert "tok-123456" not in stored and "keep-me-1" not in stored  # sealed at rest
    for summary in answer.body["testcases"]:
        document = alice.get(f"/testcases/{summary['id']}").body["testcase"]
        assert "baseUrl" not in document["config"].get("variables", {})
        assert "tok-123456" not in json.dumps(document)


def test_a_module_import_puts_its_environment_in_the_modules_project(alice):
    project = _project(alice)
    module = _module(alice, project)
    answer = alice.post(f"/modules/{module}/import?environment=local", raw=_collection_with_environment())
    assert answer.status == 201, answer.body
    assert alice.get(f"/projects/{project}").body["environments"]["local"] == {
        "base_url": "", "variables": {"baseUrl": "http://127.0.0.1:5000"}, "secrets": ["token"]}


@pytest.mark.parametrize(("query", "body", "needle"), [
    ("environment=-bad", None, "environment"),  # not an environment's name
    ("environment=staging", "no-env", "environment"),  # no environment file to put there
    ("environment=staging", "short", "at least 4"),  # a secret the project would refuse
])
def test_an_environment_the_project_cannot_take_refuses_the_whole_import(alice, query, body, needle):
    project = _project(alice)
    if body == "no-env":
        raw = fixture_text("shop.postman_collection.json")
    else:
        raw = _collection_with_environment("abc" if body == "short" else "tok-123456")
    answer = alice.post(f"/projects/{project}/import?{query}", raw=raw)
    assert answer.status == 400, answer.body
    assert "environment" in answer.error["fields"] and needle in json.dumps(answer.error), answer.error
    after = alice.get(f"/projects/{project}").body
    assert after["module_count"] == 0 and after["testcase_count"] == 0 and after["environments"] == {}


def test_imports_into_one_environment_at_once_all_land(alice):
    """Each merge writes under the environments' version it read; a loser reads again (three
    tries: three racing merges always all land, one after the other)."""
    import threading

    from chalicelib.catalog.environments import MERGE_TRIES, merge_environment
    from chalicelib.core.clock import utcnow

    project = _project(alice)
    racing = MERGE_TRIES
    barrier = threading.Barrier(racing)
    errors: list[BaseException] = []

    def merge(index: int) -> None:
        waited = []

        def clock():  # asked between the read and the write: every first try has read before any writes
            if not waited:
                waited.append(barrier.wait(timeout=10))
            return utcnow()

        try:
            merge_environment(alice.user, project, "shared", {f"v{index}": index},
                              {f"s{index}": f"secret-{index}"}, field="environment", clock=clock)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=merge, args=(i,)) for i in range(racing)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    shared = alice.get(f"/projects/{project}").body["environments"]["shared"]
    assert shared["variables"] == {f"v{i}": i for i in range(racing)}
    assert shared["secrets"] == [f"s{i}" for i in range(racing)]
