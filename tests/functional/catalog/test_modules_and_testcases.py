"""Modules and test cases: CRUD, names, HttpRunner v3 validation with paths, size limit, import."""
from __future__ import annotations

import json

from tests.functional.catalog.conftest import sample_doc


def test_module_crud_and_names_unique_within_a_project(alice):
    project = alice.project("Shop")
    other = alice.project("Other")
    module = alice.post(f"/projects/{project['id']}/modules", {"name": "Orders", "description": "orders API"})
    assert module.status == 201
    body = module.body
    assert (body["project_id"], body["name"], body["testcase_count"]) == (project["id"], "Orders", 0)
    assert alice.get(f"/modules/{body['id']}").body == body
    assert alice.post(f"/projects/{project['id']}/modules", {"name": "ORDERS"}).status == 409
    assert alice.post(f"/projects/{other['id']}/modules", {"name": "Orders"}).status == 201
    assert alice.get(f"/projects/{project['id']}").body["module_count"] == 1

    payments = alice.module(project["id"], "Payments")
    assert alice.patch(f"/modules/{payments['id']}", {"name": "orders"}).status == 409
    renamed = alice.patch(f"/modules/{body['id']}", {"name": "Checkout", "description": "new"})
    assert renamed.status == 200
    assert (renamed.body["name"], renamed.body["description"]) == ("Checkout", "new")
    assert alice.get(f"/modules/{body['id']}").body["name"] == "Checkout"
    assert alice.patch(f"/modules/{payments['id']}", {"name": "Orders"}).status == 200  # freed
    assert alice.post(f"/projects/{project['id']}/modules", {"name": ""}).error["fields"] == {
        "name": "must not be empty"}


def test_modules_list_newest_first_pages_and_filters(alice):
    project = alice.project("Shop")
    made = [alice.module(project["id"], f"{'api' if i % 2 else 'ui'} {i:02}") for i in range(23)]
    items, cursor = [], None
    while True:
        more = f"&cursor={cursor}" if cursor else ""
        body = alice.get(f"/projects/{project['id']}/modules?limit=7{more}").body
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert [m["id"] for m in items] == [m["id"] for m in reversed(made)]
    api = alice.get(f"/projects/{project['id']}/modules?name=API&limit=100").body
    assert [m["name"] for m in api["items"]] == [f"api {i:02}" for i in range(21, 0, -2)]
    assert api["next_cursor"] is None


def test_testcase_crud(alice):
    project = alice.project("Shop")
    module = alice.module(project["id"])
    document = sample_doc("Login flow", steps=2)
    created = alice.post(f"/modules/{module['id']}/testcases", {"testcase": document})
    assert created.status == 201
    case = created.body
    assert case["name"] == "Login flow"
    assert (case["module_id"], case["project_id"]) == (module["id"], project["id"])
    assert case["testcase"] == document and case["step_count"] == 2
    assert alice.get(f"/testcases/{case['id']}").body == case

    named = alice.post(f"/modules/{module['id']}/testcases", {"name": "Logout", "testcase": sample_doc()})
    assert named.body["name"] == "Logout"
    clash = alice.post(f"/modules/{module['id']}/testcases", {"testcase": sample_doc("login FLOW")})
    assert clash.status == 409

    replaced = alice.put(f"/testcases/{case['id']}", {"testcase": sample_doc("ignored", steps=3)})
    assert replaced.status == 200
    assert replaced.body["name"] == "Login flow" and replaced.body["step_count"] == 3  # name kept
    assert alice.put(f"/testcases/{case['id']}", {"name": "logout", "testcase": document}).status == 409
    assert alice.put(f"/testcases/{case['id']}", {"name": "Sign in", "testcase": document}).body["name"] == \
        "Sign in"
    freed = alice.post(f"/modules/{module['id']}/testcases", {"testcase": sample_doc("Login flow")})
    assert freed.status == 201

    listed = alice.get(f"/modules/{module['id']}/testcases").body
    assert [t["name"] for t in listed["items"]] == ["Login flow", "Logout", "Sign in"]
    assert all("testcase" not in t for t in listed["items"])  # summaries: no documents in lists
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 3

    assert alice.delete(f"/testcases/{case['id']}").status == 204
    assert alice.get(f"/testcases/{case['id']}").status == 404
    assert alice.delete(f"/testcases/{case['id']}").status == 404
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 2
    assert alice.get(f"/projects/{project['id']}").body["testcase_count"] == 2


def test_testcases_page_and_filter_by_name(alice):
    project = alice.project("Shop")
    module = alice.module(project["id"])
    for i in range(15):
        alice.testcase(module["id"], f"{'smoke' if i < 10 else 'deep'} {i:02}")
    first = alice.get(f"/modules/{module['id']}/testcases?limit=6").body
    second = alice.get(f"/modules/{module['id']}/testcases?limit=6&cursor={first['next_cursor']}").body
    third = alice.get(f"/modules/{module['id']}/testcases?limit=6&cursor={second['next_cursor']}").body
    assert [len(first["items"]), len(second["items"]), len(third["items"])] == [6, 6, 3]
    assert third["next_cursor"] is None
    names = [t["name"] for page in (first, second, third) for t in page["items"]]
    assert names == [f"{'smoke' if i < 10 else 'deep'} {i:02}" for i in range(14, -1, -1)]
    smoke = alice.get(f"/modules/{module['id']}/testcases?name=Smoke&limit=4").body
    assert [t["name"] for t in smoke["items"]] == ["smoke 09", "smoke 08", "smoke 07", "smoke 06"]
    rest = alice.get(f"/modules/{module['id']}/testcases?name=Smoke&cursor={smoke['next_cursor']}").body
    assert len(rest["items"]) == 6 and rest["next_cursor"] is None
    other_module = alice.module(project["id"], "other")
    alice.testcase(other_module["id"], "x")
    foreign = alice.get(f"/modules/{other_module['id']}/testcases?limit=1&cursor={first['next_cursor']}")
    assert foreign.status == 400  # a cursor of another module's list


def test_a_bad_document_is_a_400_naming_each_path(alice):
    module = alice.module(alice.project("Shop")["id"])
    document = sample_doc(steps=3)
    document["teststeps"][2]["validate"] = [{"eq": ["status_code", 200]}, {"equalz": ["body.id", 1]}]
    document["teststeps"][1]["request"]["method"] = "FETCH"
    del document["config"]["name"]
    answer = alice.post(f"/modules/{module['id']}/testcases", {"testcase": document})
    assert answer.status == 400
    fields = answer.error["fields"]
    assert set(fields) == {"testcase.config.name", "testcase.teststeps[1].request.method",
                           "testcase.teststeps[2].validate[1]"}
    assert "unknown comparator" in fields["testcase.teststeps[2].validate[1]"]
    assert fields["testcase.config.name"] == "required"

    v2 = alice.post(f"/modules/{module['id']}/testcases", {"testcase": [{"test": {}}]})
    assert v2.status == 400 and "HttpRunner 2" in v2.error["fields"]["testcase"]
    assert alice.post(f"/modules/{module['id']}/testcases", {"name": "x"}).error["fields"] == {
        "testcase": "Field required"}
    hooks = sample_doc()
    hooks["teststeps"][0]["setup_hooks"] = ["${sleep(1)}"]
    answer = alice.post(f"/modules/{module['id']}/testcases", {"testcase": hooks})
    assert "user Python" in answer.error["fields"]["testcase.teststeps[0].setup_hooks"]
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 0


def test_a_testcase_over_256_kb_is_a_413(alice):
    module = alice.module(alice.project("Shop")["id"])
    document = sample_doc()
    document["config"]["variables"] = {"blob": "x" * (256 * 1024)}
    answer = alice.post(f"/modules/{module['id']}/testcases", {"testcase": document})
    assert answer.status == 413 and answer.error["code"] == "testcase_too_large"
    document["config"]["variables"] = {"blob": "x" * (250 * 1024)}
    assert alice.post(f"/modules/{module['id']}/testcases", {"testcase": document}).status == 201
    small = alice.testcase(module["id"], "small")
    assert alice.put(f"/testcases/{small['id']}", {"testcase": {**document, "config": {
        "name": "big", "variables": {"blob": "y" * (300 * 1024)}}}}).status == 413


YAML_CASE = """\
config:
  name: Health check
  base_url: https://api.example.com
  variables: {when: 2026-01-01}
teststeps:
  - name: health
    request:
      method: GET
      url: /health
    validate:
      - eq: [status_code, 200]
      - eq: [body.status, ok]
"""


def test_import_from_yaml_and_json(alice):
    module = alice.module(alice.project("Shop")["id"])
    for i, content_type in enumerate(("application/yaml", "application/x-yaml", "text/yaml; charset=utf-8")):
        answer = alice.post(f"/modules/{module['id']}/testcases/import?name=yaml-{i}",
                            raw=YAML_CASE, content_type=content_type)
        assert answer.status == 201, answer.body
        assert answer.body["name"] == f"yaml-{i}"
        assert answer.body["testcase"]["config"]["variables"] == {"when": "2026-01-01"}  # dates stay text
        assert answer.body["testcase"]["teststeps"][0]["validate"][1] == {"eq": ["body.status", "ok"]}
    from_json = alice.post(f"/modules/{module['id']}/testcases/import", raw=json.dumps(sample_doc("As JSON")))
    assert from_json.status == 201 and from_json.body["name"] == "As JSON"
    plain = alice.post(f"/modules/{module['id']}/testcases/import", raw=YAML_CASE)  # YAML named as JSON
    assert plain.status == 400
    again = alice.post(f"/modules/{module['id']}/testcases/import", raw=YAML_CASE,
                       content_type="application/yaml")
    assert again.status == 201 and again.body["name"] == "Health check"  # config.name by default
    assert alice.post(f"/modules/{module['id']}/testcases/import", raw=YAML_CASE,
                      content_type="application/yaml").status == 409
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 5


def test_import_refuses_unsafe_or_broken_yaml(alice, tmp_path):
    module = alice.module(alice.project("Shop")["id"])
    marker = tmp_path / "pwned"
    unsafe = f"!!python/object/apply:os.system ['touch {marker}']\n"
    answer = alice.post(f"/modules/{module['id']}/testcases/import", raw=unsafe,
                        content_type="application/yaml")
    assert answer.status == 400 and not marker.exists()
    tagged = "config: !!python/name:os.system\nteststeps: []\n"
    assert alice.post(f"/modules/{module['id']}/testcases/import", raw=tagged,
                      content_type="application/yaml").status == 400
    # a billion laughs: 9 ** 9 values from a few hundred bytes of aliases
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    assert alice.post(f"/modules/{module['id']}/testcases/import", raw=bomb,
                      content_type="application/yaml").status == 400
    broken = alice.post(f"/modules/{module['id']}/testcases/import", raw="config: [unclosed",
                        content_type="application/yaml")
    assert broken.status == 400 and "invalid YAML" in broken.error["message"]
    invalid = alice.post(f"/modules/{module['id']}/testcases/import",
                         raw="config: {name: x}\nteststeps:\n  - name: s\n    request: {method: GET}\n",
                         content_type="application/yaml")
    assert invalid.error["fields"] == {"teststeps[0].request.url": "required"}
    assert alice.post(f"/modules/{module['id']}/testcases/import", raw="x",
                      content_type="text/plain").status == 415
    assert alice.get(f"/modules/{module['id']}").body["testcase_count"] == 0
