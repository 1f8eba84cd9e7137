"""Project files (chalicelib/files, issue 17 item 11): upload, list, replace, delete, the size
and count limits, members only, the routes' DynamoDB budget; and testcases that name them
(a multipart upload step, CSV parameters) run through the worker against a local server."""
from __future__ import annotations

import email.parser
import email.policy
import hashlib

import pytest

from chalicelib.core.settings import reset_settings
from tests.functional.runs.conftest import RunsApi

USERS = b"code,who\n200,alice\n201,bobby\n"


def put(api: RunsApi, project_id: str, path: str, data: bytes, content_type: str = "text/csv"):
    return api.call("PUT", f"/projects/{project_id}/files?path={path}", raw=data, content_type=content_type)


def raw_get(api: RunsApi, project_id: str, path: str):
    # API Gateway (and chalice) hand back binary answers to a request that accepts them
    return api.client.http.get(f"/projects/{project_id}/files?path={path}",
                               headers={**api.who.headers, "Accept": "*/*"})


@pytest.fixture
def project(alice) -> dict:
    return alice.project("shop")


def test_upload_list_get_replace_delete(alice, project, aws):
    pid = project["id"]
    made = put(alice, pid, "data/users.csv", USERS)
    assert made.status == 201, made.body
    assert made.body["path"] == "data/users.csv" and made.body["size"] == len(USERS)
    assert made.body["sha256"] == hashlib.sha256(USERS).hexdigest() and made.body["updated_at"]
    binary = bytes(range(256))
    assert put(alice, pid, "img/a.bin", binary, "application/octet-stream").status == 201
    listed = alice.get(f"/projects/{pid}/files").body["items"]
    assert [(f["path"], f["size"]) for f in listed] == [("data/users.csv", len(USERS)), ("img/a.bin", 256)]
    got = raw_get(alice, pid, "img/a.bin")
    assert (got.status_code, got.body) == (200, binary)
    assert got.headers["X-Sha256"] == hashlib.sha256(binary).hexdigest()

    replaced = put(alice, pid, "data/users.csv", b"code\n204\n")
    assert (replaced.status, replaced.body["size"]) == (200, 9)
    assert raw_get(alice, pid, "data/users.csv").body == b"code\n204\n"
    bucket = aws("s3")
    from chalicelib.core.settings import get_settings

    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket=get_settings().files_bucket).get("Contents", [])]
    assert len(keys) == 2 and all(k.startswith(f"projects/{pid}/files/") for k in keys)  # the old bytes went

    assert alice.delete(f"/projects/{pid}/files?path=data/users.csv").status == 204
    assert alice.delete(f"/projects/{pid}/files?path=data/users.csv").status == 404
    assert raw_get(alice, pid, "data/users.csv").status_code == 404
    assert [f["path"] for f in alice.get(f"/projects/{pid}/files").body["items"]] == ["img/a.bin"]
    assert len(bucket.list_objects_v2(Bucket=get_settings().files_bucket)["Contents"]) == 1


@pytest.mark.parametrize("path", ["../x.csv", "/etc/passwd", "data//x", "a%20b", "x" * 201, ""])
def test_bad_paths_are_400_naming_path(alice, project, path):
    answer = put(alice, project["id"], path, b"x")
    assert answer.status == 400, answer.body
    assert "path" in answer.body["error"]["fields"]
    assert alice.get(f"/projects/{project['id']}/files?path={path}").status == 400


def test_size_and_count_limits(alice, project, monkeypatch):
    monkeypatch.setenv("HAT_PROJECT_FILE_MAX_BYTES", "10")
    monkeypatch.setenv("HAT_PROJECT_FILES_MAX", "2")
    reset_settings()
    pid = project["id"]
    too_big = put(alice, pid, "big.csv", b"x" * 11)
    assert (too_big.status, too_big.body["error"]["code"]) == (413, "file_too_large")
    assert put(alice, pid, "a.csv", b"1").status == 201
    assert put(alice, pid, "b.csv", b"2").status == 201
    third = put(alice, pid, "c.csv", b"3")
    assert (third.status, third.body["error"]["code"]) == (409, "too_many_files")
    assert put(alice, pid, "a.csv", b"again").status == 200  # replacing is not one more
    assert alice.delete(f"/projects/{pid}/files?path=b.csv").status == 204
    assert put(alice, pid, "c.csv", b"3").status == 201
    assert [f["path"] for f in alice.get(f"/projects/{pid}/files").body["items"]] == ["a.csv", "c.csv"]


def test_another_projects_member_gets_404(alice, bob, project):
    pid = project["id"]
    assert put(alice, pid, "data/users.csv", USERS).status == 201
    bob.project("other")
    assert bob.get(f"/projects/{pid}/files").status == 404
    assert raw_get(bob, pid, "data/users.csv").status_code == 404
    assert put(bob, pid, "data/users.csv", b"mine").status == 404
    assert bob.delete(f"/projects/{pid}/files?path=data/users.csv").status == 404
    assert raw_get(alice, pid, "data/users.csv").body == USERS


def test_routes_stay_within_four_dynamodb_calls(alice, project, ddb_calls):
    pid = project["id"]
    for call in (lambda: put(alice, pid, "a.csv", USERS), lambda: put(alice, pid, "a.csv", b"x"),
                 lambda: alice.get(f"/projects/{pid}/files"), lambda: raw_get(alice, pid, "a.csv"),
                 lambda: alice.delete(f"/projects/{pid}/files?path=a.csv")):
        ddb_calls.clear()
        call()
        assert len(ddb_calls) <= 4, ddb_calls


def _parts(headers: dict, body: bytes) -> dict:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
    return {p.get_param("name", header="content-disposition"): (p.get_filename(), p.get_payload(decode=True))
            for p in message.iter_parts()}


def test_an_upload_step_and_csv_parameters_run_through_the_worker(alice, target, run_queue):
    upload = {"config": {"name": "upload"},
              "teststeps": [{"name": "send", "request": {"method": "POST", "url": "/hook",
                                                         "upload": {"file": "data/users.csv", "note": "hi"}},
                             "validate": [{"eq": ["status_code", 200]}]}]}
    by_row = {"config": {"name": "by row", "parameters": {"code-who": "${P(data/users.csv)}"}},
              "teststeps": [{"name": "get", "request": {"method": "GET", "url": "/status/$code"},
                             "validate": [{"eq": ["status_code", 200]}]}]}
    missing = {"config": {"name": "missing", "parameters": {"code": "${P(data/none.csv)}"}},
               "teststeps": [{"name": "get", "request": {"method": "GET", "url": "/status/200"}}]}
    shop = alice.shop(target.url, [upload, by_row, missing])
    pid = shop["project"]["id"]
    assert put(alice, pid, "data/users.csv", USERS).status == 201

    report_id = alice.post(f"/projects/{pid}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    cases = {t["name"]: t for t in report["testcases"]}
    assert cases["upload"]["success"], cases["upload"]
    [received] = target.received
    parts = _parts(received["headers"], received["body"])
    assert parts == {"file": ("users.csv", USERS), "note": (None, b"hi")}
    rows = sorted((name, t["success"]) for name, t in cases.items() if name.startswith("by row"))
    assert rows == [("by row [code=200, who=alice]", True), ("by row [code=201, who=bobby]", False)]
    assert sorted(h for h in target.hits if h.startswith("/status/")) == ["/status/200", "/status/201"]
    assert "no file 'data/none.csv'" in cases["missing"]["error"]


def test_save_time_refuses_bad_file_paths(alice, target):
    shop = alice.shop(target.url, [])
    bad = {"config": {"name": "bad", "parameters": {"u": "${P(../users.csv)}"}},
           "teststeps": [{"name": "s", "request": {"method": "POST", "url": "/hook",
                                                   "upload": {"f": "/etc/passwd"}}}]}
    answer = alice.post(f"/modules/{shop['module']['id']}/testcases", {"testcase": bad})
    assert answer.status == 400
    fields = answer.body["error"]["fields"]
    assert "'..' segment" in fields["testcase.config.parameters"]
    assert "relative to the project root" in fields["testcase.teststeps[0].request.upload"]


def test_deleting_the_project_deletes_its_files(alice, project, aws, run_cleanup):
    from chalicelib.core.settings import get_settings

    pid = project["id"]
    for path in ("a.csv", "data/b.csv"):
        assert put(alice, pid, path, USERS).status == 201
    other = alice.project("kept")
    assert put(alice, other["id"], "a.csv", b"kept").status == 201
    assert alice.delete(f"/projects/{pid}").status in (202, 204)
    run_cleanup()
    objects = aws("s3").list_objects_v2(Bucket=get_settings().files_bucket).get("Contents", [])
    assert [o["Key"].split("/")[1] for o in objects] == [other["id"]]
    items = aws("dynamodb").scan(TableName="hat-dev-project-files")["Items"]
    assert [i["project_id"]["S"] for i in items] == [other["id"]]
    assert raw_get(alice, other["id"], "a.csv").body == b"kept"


def test_the_debug_route_reads_the_projects_files(alice, target):
    shop = alice.shop(target.url, [])
    pid = shop["project"]["id"]
    assert put(alice, pid, "data/users.csv", USERS).status == 201
    doc = {"config": {"name": "debug", "parameters": {"code": "${P(data/users.csv)}"}},
           "teststeps": [{"name": "get", "request": {"method": "GET", "url": "/status/$code"}}]}
    answer = alice.post("/testcases/debug", {"project_id": pid, "testcase": doc})
    assert answer.status == 200, answer.body
    assert answer.body["tests_run"] == 2
    assert sorted(h for h in target.hits if h.startswith("/status/")) == ["/status/200", "/status/201"]
