"""Success answers in the OpenAPI document: every route declares its own, from pydantic models."""
from __future__ import annotations

import pytest
from chalice import Chalice, Response

from chalicelib.core.openapi import answers, build_openapi, declared_answers, resolve_model


@pytest.fixture(scope="module")
def hat():
    from app import app

    return app


@pytest.fixture(scope="module")
def spec(hat) -> dict:
    return build_openapi(hat, "1.0")


def test_every_route_declares_its_success_answers(hat):
    undeclared, wrong = [], []
    for path, methods in hat.routes.items():
        for method, entry in methods.items():
            declared = declared_answers(entry.view_function)
            # A success is a 2xx, or a redirect for a route that only sends elsewhere (GET / -> /ui/).
            redirect_only = len(declared) == 1 and all(300 <= status < 400 for status in declared)
            if not redirect_only and not any(200 <= status < 300 for status in declared):
                undeclared.append(f"{method} {path}")
            for status, answer in declared.items():
                if answer.model is not None:
                    resolve_model(answer.model)  # names a pydantic model that imports
                if status == 204 and (answer.model or answer.media_type):
                    wrong.append(f"{method} {path}: a 204 has no body")
                if answer.media_type and answer.model is None and answer.media_type == "application/json":
                    wrong.append(f"{method} {path}: JSON without a model")
    assert not undeclared, "add @answers(status, 'package.module:Model') under the route: " + \
        ", ".join(sorted(undeclared))
    assert not wrong


def test_the_statuses_are_the_ones_api_md_gives(spec):
    def success(method: str, path: str) -> list[str]:
        return sorted(s for s in spec["paths"][path][method]["responses"] if s.startswith("2"))

    assert success("post", "/projects") == ["201"]
    assert success("post", "/auth/register") == ["201"]
    assert success("post", "/auth/codes") == ["202"]
    assert success("post", "/projects/{project_id}/runs") == ["202"]
    assert success("post", "/tasks/{task_id}/runs") == ["202"]
    assert success("post", "/hooks/projects/{project_id}/runs") == ["202"]
    for method, path in [("post", "/auth/logout"), ("post", "/auth/password/reset"),
                         ("delete", "/projects/{project_id}"), ("delete", "/tasks/{task_id}")]:
        assert success(method, path) == ["204"]
        assert "content" not in spec["paths"][path][method]["responses"]["204"]
    junit = spec["paths"]["/reports/{report_id}/junit"]["get"]["responses"]["200"]["content"]
    assert junit == {"application/xml": {"schema": {"type": "string"}}}
    assert list(spec["paths"]["/docs"]["get"]["responses"]["200"]["content"]) == ["text/html"]


def test_the_answers_require_what_api_md_promises_and_allow_more(spec):
    schemas = spec["components"]["schemas"]

    def required(name: str) -> set[str]:
        assert schemas[name].get("additionalProperties") is not False
        return set(schemas[name]["required"])

    assert required("User") >= {"id", "username", "email", "mobile", "created_at"}
    assert "password_hash" not in schemas["User"]["properties"]
    assert required("Session") == {"token", "expires_at", "user"}
    assert required("Project") >= {"id", "name", "description", "owner_id", "module_count", "testcase_count",
                                   "environments", "created_at", "updated_at", "role", "member_count",
                                   "notify", "callback_url"}
    assert required("ProjectCreated") >= required("Project") | {"webhook_secret"}
    assert required("RunQueued") == {"report_id", "status"}
    assert required("Report") >= {"id", "status", "trigger", "tests_run", "successes", "failures",
                                  "started_at", "finished_at", "duration_ms", "testcases"}
    assert required("Dashboard") >= {"projects", "modules", "testcases", "days"}
    assert required("Day") == {"date", "pass", "fail", "percent"}
    assert required("TaskWithSchedule") >= {"schedule", "run_count", "last_report"}
    for envelope in ("ProjectPage", "MemberPage", "ModulePage", "TestcasePage", "ReportPage", "TaskPage"):
        assert required(envelope) == {"items", "next_cursor"}
        cursor = schemas[envelope]["properties"]["next_cursor"]
        assert cursor["anyOf"] == [{"type": "string"}, {"type": "null"}]


def test_no_success_answer_forbids_extra_properties(spec):
    schemas = spec["components"]["schemas"]
    seen, todo = set(), [response["content"]["application/json"]["schema"]
                         for operations in spec["paths"].values() for operation in operations.values()
                         for status, response in operation["responses"].items()
                         if status.startswith("2") and "application/json" in response.get("content", {})]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "").rpartition("/")[2]
            if ref and ref not in seen:
                seen.add(ref)
                todo.append(schemas[ref])
            assert node.get("additionalProperties") is not False, node
            todo += list(node.values())
        elif isinstance(node, list):
            todo += node
    assert {"User", "Project", "Report", "StepResult", "Task", "Schedule"} <= seen


def test_the_document_is_valid_openapi_3_1(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)


def test_models_of_one_name_keep_apart(spec):
    """catalog's and schedules' Notify differ (the default `when`); neither overwrites the other."""
    schemas = spec["components"]["schemas"]
    whens = {schemas[name]["properties"]["when"]["default"] for name in schemas if name.endswith("Notify")}
    assert whens == {"failure", "never"}


def test_the_decorator_declares_and_the_document_shows_it():
    probe = Chalice(app_name="probe")

    @probe.route("/things", methods=["POST"])
    @answers(201, "chalicelib.core.answers:Health")
    @answers(200, "chalicelib.core.answers:Health", description="already there")
    def make_thing():
        return Response(body={}, status_code=201)

    @probe.route("/things/{thing_id}", methods=["DELETE"])
    @answers(204)
    def drop_thing(thing_id):
        return Response(body="", status_code=204)

    @probe.route("/legacy")
    def legacy():
        return {}

    paths = build_openapi(probe, "1.0")["paths"]
    made = paths["/things"]["post"]["responses"]
    health = {"$ref": "#/components/schemas/Health"}
    assert made["201"] == {"description": "Liveness: the stage and version this deployment runs.",
                           "content": {"application/json": {"schema": health}}}
    assert made["200"]["description"] == "already there"
    assert made["default"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"400", "401", "404", "409", "413", "429", "403", "415", "503"} <= set(made)
    assert paths["/things/{thing_id}"]["delete"]["responses"]["204"] == {"description": "No Content"}
    assert paths["/legacy"]["get"]["responses"]["default"] == {"description": "success (no answer declared)"}


def test_a_model_is_named_by_module_and_name():
    with pytest.raises(ValueError, match="package.module:Name"):
        answers(200, "Health")
    with pytest.raises(LookupError):
        resolve_model("chalicelib.core.answers:Nothing")
