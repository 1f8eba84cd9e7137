"""Schemathesis against the running local stack's own /openapi.json, signed in.

Every operation gets a bounded number of generated requests (valid and invalid bodies,
query strings and ids; path ids are drawn from real ids of the caller's project, module,
test case, report and task plus a made-up one, so requests get past the 404). Every
answer must be below 500 and match the document (status codes, content type, and the
schema of the answer: each route's declared success model, or Error). Inputs it found
once are kept below as plain requests calls.

HAT_FUZZ_EXAMPLES raises the per-operation count for a longer local hunt (default 12).
"""
from __future__ import annotations

import copy
import os
import time

import pytest
import requests

from tests.e2e.test_catalog import signed_in

EXAMPLES = int(os.environ.get("HAT_FUZZ_EXAMPLES", "12"))
# Time-boxed per operation so the file stays well under 90 s on a busy 2-core machine.
SECONDS_PER_OPERATION = float(os.environ.get("HAT_FUZZ_SECONDS", "2.5"))
CASE = {"config": {"name": "fuzz"}, "teststeps": [
    {"name": "health", "request": {"method": "GET", "url": "http://127.0.0.1:9/health"},
     "validate": [{"eq": ["status_code", 200]}]}]}
# Routes whose side effects would end the session the fuzzer signs with, or only exist locally.
STATUSES: dict = {}
SKIP = {("POST", "/auth/logout"), ("POST", "/auth/password/reset")}


@pytest.fixture(scope="module")
def world(stack):
    """A signed-in user with one of everything, so path ids can be real."""
    with requests.Session() as http:
        headers = signed_in(stack, http)
        base = stack.url
        project = http.post(f"{base}/projects", headers=headers, timeout=10, json={
            "name": "fuzzed", "environments": {"local": {"base_url": "http://127.0.0.1:9"}}}).json()
        module = http.post(f"{base}/projects/{project['id']}/modules", headers=headers, timeout=10,
                           json={"name": "fuzzed"}).json()
        testcase = http.post(f"{base}/modules/{module['id']}/testcases", headers=headers, timeout=10,
                             json={"name": "fuzzed", "testcase": CASE}).json()
        report = http.post(f"{base}/testcases/{testcase['id']}/runs", headers=headers, timeout=10,
                           json={}).json()
        task = http.post(f"{base}/tasks", headers=headers, timeout=10, json={
            "name": "fuzzed", "project_id": project["id"], "module_ids": [], "crontab": "0 3 * * *",
            "timezone": "UTC", "enabled": False}).json()
        spec = http.get(f"{base}/openapi.json", timeout=10).json()
    ids = {"projects": project["id"], "modules": module["id"], "testcases": testcase["id"],
           "reports": report.get("report_id"), "tasks": task.get("id")}
    return {"headers": headers, "spec": spec, "ids": {k: v for k, v in ids.items() if v}}


def with_real_ids(spec: dict, ids: dict) -> dict:
    """Path `{id}` of /projects/..., /modules/... draws from the real id or a made-up one."""
    spec = copy.deepcopy(spec)
    for path, operations in spec["paths"].items():
        kind = path.strip("/").split("/")[0]
        if kind == "hooks" and "/projects/" in path:
            kind = "projects"
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and kind in ids:
                    parameter["schema"] = {"type": "string", "enum": [ids[kind], "zz-not-an-id"]}
    return spec


def test_the_document_gives_every_answer_a_schema_to_check(world):
    """response_schema_conformance checks only what the document declares: every operation
    declares its success answers, and any other status must be the Error shape."""
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in world["spec"]["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [status for status in responses if status.startswith("2")]
            assert success, f"{method.upper()} {path} declares no success answer"
            for status in success:
                content = responses[status].get("content", {})
                assert status == "204" or any(media.get("schema") for media in content.values()), \
                    f"{method.upper()} {path} {status} has no schema"
            assert responses["default"]["content"]["application/json"]["schema"] == error


def test_every_operation_answers_below_500_and_as_documented(stack, world):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_dict(with_real_ids(world["spec"], world["ids"]))
    headers = {"Authorization": world["headers"]["Authorization"]}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures: list[str] = []
    operations = 0
    with requests.Session() as http:
        # Deletes go last, children before parents, so the real ids live as long as possible.
        order = ["testcases", "tasks", "modules", "projects"]
        every = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: (
            op.method.upper() == "DELETE", order.index(op.path.split("/")[1]) if op.method.upper() == "DELETE"
            and op.path.split("/")[1] in order else -1, op.path, op.method))
        for operation in every:
            if (operation.method.upper(), operation.path) in SKIP:
                continue
            operations += 1
            fuzz_operation(operation, stack.url, http, headers, checks, failures)
    assert operations > 30
    print('\n'.join(f'{k}: {v}' for k, v in sorted(STATUSES.items())))
    assert not failures, "\n\n".join(failures[:20])


def fuzz_operation(operation, base_url, http, headers, checks, failures) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    deadline = time.monotonic() + SECONDS_PER_OPERATION

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def fuzz(case) -> None:
        if time.monotonic() > deadline:
            return
        response = case.call(base_url=base_url, session=http, headers=headers, timeout=30)
        STATUSES[f"{operation.method.upper()} {operation.path} {response.status_code}"] = (
            STATUSES.get(f"{operation.method.upper()} {operation.path} {response.status_code}", 0) + 1)
        try:
            case.validate_response(response, checks=checks)
        except AssertionError as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}\n"
                            f"  curl: {case.as_curl_command(headers=headers)}")

    fuzz()
