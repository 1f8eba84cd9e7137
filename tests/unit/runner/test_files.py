"""Project files in testcases (issue 17, item 11): `upload` as multipart and `${P(path)}` CSV
parameters, read through the injected file source; paths checked at save time."""
from __future__ import annotations

import email.parser
import email.policy
from pathlib import Path

import pytest

from chalicelib.runner.errors import TestcaseInvalid
from chalicelib.runner.files import (
    MAX_PATH_CHARS,
    DirectoryFiles,
    FileMissing,
    csv_rows,
    path_problem,
)
from chalicelib.runner.schema import validate_testcase
from chalicelib.runner.transport import OutboundRequest
from tests.unit.runner.fakes import FakeTransport, case, echo, run

USERS = b"username,password,role\nalice,a1,admin\nbob,b2,user\n"


@pytest.mark.parametrize("path", ["data/users.csv", "a", "x_1-2.v3/y.json", "a" * MAX_PATH_CHARS])
def test_good_paths(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(("path", "needle"), [
    ("", "non-empty"),
    ("/etc/passwd", "relative to the project root"),
    ("../secret.csv", "'..' segment"),
    ("data/../../x", "'..' segment"),
    ("data//x", "empty"),
    ("./x", "'.'"),
    ("data\\x.csv", "not allowed"),
    ("c:x", "not allowed"),
    ("a b", "not allowed"),
    ("x\n", "not allowed"),
    ("a" * (MAX_PATH_CHARS + 1), f"at most {MAX_PATH_CHARS}"),
    (5, "non-empty text"),
])
def test_bad_paths(path: object, needle: str) -> None:
    assert needle in (path_problem(path) or "")


def test_csv_rows_pick_the_named_columns_as_text() -> None:
    assert csv_rows(USERS, ["username", "password"], "u.csv") == [
        {"username": "alice", "password": "a1"}, {"username": "bob", "password": "b2"}]
    assert csv_rows(b"\xef\xbb\xbfid\n1\n\n2\n", ["id"], "ids.csv") == [{"id": "1"}, {"id": "2"}]


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "empty"),
    (b"id\n", "no rows"),
    (b"name\nx\n", "no column 'id'"),
    (b"id,name\n1\n", "row 2 has 1 values"),
    (b"\xff\xfe", "UTF-8"),
    (b"id\n" + b"1\n" * 1001, "more than 1000 rows"),
])
def test_bad_csv_files_say_why(data: bytes, needle: str) -> None:
    with pytest.raises(Exception, match=needle):
        csv_rows(data, ["id"], "f.csv")


def upload_step(upload: dict, **request) -> dict:
    return {"name": "up", "request": {"method": "POST", "url": "/upload", "upload": upload, **request}}


def test_save_time_refuses_bad_upload_and_csv_paths() -> None:
    doc = case(upload_step({"file": "../etc/passwd"}))
    with pytest.raises(TestcaseInvalid) as info:
        validate_testcase(doc)
    assert "'..' segment" in info.value.fields["teststeps[0].request.upload"]
    both = case(upload_step({"file": "data/x.csv"}, json={"a": 1}))
    with pytest.raises(TestcaseInvalid) as info:
        validate_testcase(both)
    assert "either json or upload" in info.value.fields["teststeps[0].request"]
    validate_testcase(case(upload_step({"file": "data/x.csv", "note": "hello", "n": 3})))
    validate_testcase(case({"name": "s", "request": {"method": "GET", "url": "/"}},
                           parameters={"username-password": "${P(data/users.csv)}"}))


def _parts(request: OutboundRequest) -> dict[str, tuple[str | None, str | None, bytes]]:
    content_type = dict((k.lower(), v) for k, v in request.headers)["content-type"]
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_content_type() if part.get_filename() else None,
             part.get_payload(decode=True)) for part in message.iter_parts()}


def test_an_upload_step_sends_multipart_with_the_files_bytes() -> None:
    transport = FakeTransport(echo)
    read: list[str] = []

    def files(path: str) -> bytes:
        read.append(path)
        return {"data/users.csv": USERS}[path]

    doc = case(upload_step({"file": "data/users.csv", "note": "$who", "n": 3},
                           headers={"Content-Type": "text/plain"}),
               upload_step({"again": "data/users.csv"}), variables={"who": "alice"})
    report = run([doc], transport, read_file=files)
    assert report["success"], report
    parts = _parts(transport.sent[0])
    assert parts["file"] == ("users.csv", "text/csv", USERS)
    assert parts["note"] == (None, None, b"alice")
    assert parts["n"] == (None, None, b"3")
    assert read == ["data/users.csv"]  # once per run


def test_a_missing_upload_file_fails_its_testcase_only() -> None:
    doc = case(upload_step({"file": "data/none.csv"}))
    other = case({"name": "next", "request": {"method": "GET", "url": "/"}})
    report = run([doc, other], read_file=DirectoryFiles(Path("/nonexistent")))
    bad, good = report["testcases"]
    step = bad["steps"][0]
    assert (step["error_type"], bad["success"], good["success"]) == ("file", False, True)
    assert "no file 'data/none.csv'" in step["error"]


def test_csv_parameters_make_one_testcase_per_row() -> None:
    transport = FakeTransport(echo)
    doc = case({"name": "login", "request": {"method": "GET", "url": "/login",
                                             "params": {"u": "$username", "p": "$password"}}},
               parameters={"username-password": "${P(data/users.csv)}", "n": [1, 2]})
    report = run([doc], transport, read_file=lambda path: USERS)
    assert report["tests_run"] == 4 and report["success"]
    sent = sorted(r.url.rsplit("?", 1)[1] for r in transport.sent)
    assert sent == ["u=alice&p=a1", "u=alice&p=a1", "u=bob&p=b2", "u=bob&p=b2"]


def test_a_csv_the_run_cannot_read_fails_that_testcase() -> None:
    def missing(path: str) -> bytes:
        raise FileMissing(f"no file {path!r} in this project")

    doc = case({"name": "s", "request": {"method": "GET", "url": "/"}}, parameters={"id": "${P(ids.csv)}"})
    report = run([doc, case({"name": "ok", "request": {"method": "GET", "url": "/"}})], read_file=missing)
    bad, good = report["testcases"]
    assert "no file 'ids.csv'" in bad["error"] and good["success"]
    too_many = run([doc], read_file=lambda path: b"id\n" + b"1\n" * 1000,
                   ).get("testcases")[0]
    assert too_many["success"] and run([case({"name": "s", "request": {"method": "GET", "url": "/"}},
                                             parameters={"id": "${P(ids.csv)}", "n": [1, 2]})],
                                       read_file=lambda path: b"id\n" + b"1\n" * 1000
                                       )["testcases"][0]["error"].startswith("2000 parameter combinations")


def test_directory_files_stay_under_the_root(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "u.csv").write_bytes(USERS)
    (tmp_path / "data" / "out").symlink_to("/etc")
    files = DirectoryFiles(tmp_path)
    assert files("data/u.csv") == USERS
    for bad in ("../x", "data/out/passwd", "data/none"):
        with pytest.raises(FileMissing):
            files(bad)
