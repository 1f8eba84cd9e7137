"""File fields of Postman form-data, cURL `-F name=@file` and HAR multipart parts become the
runner's multipart `upload`, each file read from `files/<its name>` in the project's files;
the report names every path the user must upload a file to."""

from __future__ import annotations

import json

import pytest

from chalicelib.importers import curl, har, postman
from chalicelib.importers.common import ProjectFiles, Report, file_name
from chalicelib.runner.files import path_problem
from chalicelib.runner.schema import validate_testcase


def _collection(*requests: dict) -> dict:
    return {
        "info": {
            "name": "Uploads",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "item": list(requests),
    }


def _form_request(name: str, fields: list[dict], url: str = "{{baseUrl}}/echo/upload") -> dict:
    return {
        "name": name,
        "request": {
            "method": "POST",
            "header": [{"key": "Content-Type", "value": "multipart/form-data"}],
            "body": {"mode": "formdata", "formdata": fields},
            "url": url,
        },
    }


def _only_step(conversion) -> dict:
    (testcase,) = conversion.testcases
    validate_testcase(testcase.document)
    (step,) = testcase.document["teststeps"]
    return step


def _warnings(conversion) -> dict[str, str]:
    """Each `what` warned of: its messages, joined by | ."""
    out: dict[str, str] = {}
    for warning in conversion.report.warnings:
        out[warning["what"]] = " | ".join(filter(None, [out.get(warning["what"]), warning["message"]]))
    return out


def _first_warning(conversion, what: str) -> str:
    return next(w["message"] for w in conversion.report.warnings if w["what"] == what)


def _not_converted(conversion) -> dict[str, str]:
    return {e["what"]: e["why"] for e in conversion.report.not_converted}


@pytest.mark.parametrize(
    ("source", "sent", "expected"),
    [
        ("/home/ann/receipt.pdf", "", "receipt.pdf"),
        ("C:\\Users\\Ann\\My Pictures\\cat photo (1).JPG", "", "cat_photo__1_.JPG"),
        ("avatar.png", "", "avatar.png"),
        ("postman-cloud:///1efa2c3b-aa", "", "1efa2c3b-aa"),
        ("/tmp/", "", "tmp"),
        ("/home/ann/..", "", "upload"),
        ("", "", "upload"),
        ("/x/local.bin", "sent-as.bin", "sent-as.bin"),
        ("/x/" + "n" * 300 + ".tar.gz", "", "n" * 97 + ".gz"),
        ("/x/" + "n" * 300, "", "n" * 100),
        ("/x/résumé.pdf", "", "r_sum_.pdf"),
    ],
)
def test_the_file_name_rule(source, sent, expected):
    name = file_name(source, sent)
    assert name == expected
    assert path_problem(f"files/{name}") is None  # always a path the runner and the files API take


def test_one_path_per_source_file_and_a_suffix_for_another_file_of_that_name():
    files = ProjectFiles(Report())
    assert files.path("/a/photo.png", "one") == "files/photo.png"
    assert files.path("/a/photo.png", "two") == "files/photo.png"  # the same file, once
    assert files.path("/b/photo.png", "three") == "files/photo-2.png"
    assert files.path("/c/PHOTO.png", "four") == "files/PHOTO-3.png"  # case-blind: safe on any disk
    assert files.path("/d/.env", "five") == "files/.env"
    assert files.path("/e/.env", "six") == "files/.env-2"
    assert [w["what"] for w in files.report.warnings] == ["one", "two", "three", "four", "five", "six"]


def test_postman_form_data_with_files_is_a_multipart_upload_in_order():
    conversion = postman.convert(
        _collection(
            _form_request(
                "Upload avatar",
                [
                    {"key": "user", "value": "{{user}}", "type": "text"},
                    {
                        "key": "avatar",
                        "type": "file",
                        "src": "/Users/ann/Pictures/avatar.png",
                        "contentType": "image/png",
                    },
                    {"key": "note", "value": "costs $5", "type": "text"},
                    {"key": "old", "type": "file", "src": "/tmp/old.png", "disabled": True},
                    {"key": "doc", "type": "file", "src": ["C:\\docs\\cv.pdf", "C:\\docs\\letter.pdf"]},
                ],
            )
        )
    )
    step = _only_step(conversion)
    request = step["request"]
    assert list(request["upload"].items()) == [
        ("user", "${user}"),
        ("avatar", "files/avatar.png"),
        ("note", "costs $$5"),
        ("doc", "files/cv.pdf"),
    ]
    assert "headers" not in request and "data" not in request  # the runner sets the boundary's type
    warnings = _warnings(conversion)
    what = "request 'Upload avatar'"
    assert _first_warning(conversion, f"{what}: file field 'avatar'").startswith(
        "sent from the project file 'files/avatar.png': upload the file '/Users/ann/Pictures/avatar.png'"
    )
    assert "'files/cv.pdf'" in warnings[f"{what}: file field 'doc'"]
    skipped = _not_converted(conversion)
    assert skipped[f"{what}: file field 'doc': 1 more file(s)"].startswith(
        "hat's upload sends one file per field"
    )
    assert not any("old" in entry for entry in skipped)  # disabled: as Postman, not sent
    assert {
        "what": f"{what}: form-data",
        "into": "a multipart upload of 2 file(s)",
    } in conversion.report.converted
    avatar = [w["message"] for w in conversion.report.warnings if w["what"] == f"{what}: file field 'avatar'"]
    assert avatar[1] == "its type 'image/png' is not kept: hat guesses it from the file name"


def test_text_fields_a_multipart_upload_would_read_as_files():
    conversion = postman.convert(
        _collection(
            _form_request(
                "Upload",
                [
                    {"key": "kind", "value": "text/plain", "type": "text"},
                    {"key": "folder", "value": "{{folder}}", "type": "text"},
                    {"key": "file", "type": "file", "src": "/x/data.csv"},
                ],
            )
        )
    )
    request = _only_step(conversion)["request"]
    assert request["upload"] == {"folder": "${folder}", "file": "files/data.csv"}
    assert "reads it as a file path" in _not_converted(conversion)["request 'Upload': text field 'kind'"]
    assert "when sent" in _warnings(conversion)["request 'Upload': text field 'folder'"]


def test_postman_text_only_form_data_stays_an_urlencoded_form():
    conversion = postman.convert(
        _collection(_form_request("Note", [{"key": "text", "value": "a/b", "type": "text"}]))
    )
    request = _only_step(conversion)["request"]
    assert request["data"] == {"text": "a/b"} and "upload" not in request
    assert "urlencoded" in _warnings(conversion)["request 'Note'"]


def test_postman_file_fields_without_a_file_and_file_bodies_are_reported():
    conversion = postman.convert(
        _collection(
            _form_request("Empty", [{"key": "file", "type": "file", "src": None}]),
            {
                "name": "Raw file",
                "request": {
                    "method": "PUT",
                    "body": {"mode": "file", "file": {"src": "/x/blob.bin"}},
                    "url": "{{baseUrl}}/blob",
                },
            },
        )
    )
    skipped = _not_converted(conversion)
    assert skipped["request 'Empty': file field 'file'"] == "no file chosen in the collection (no src)"
    assert "not as the whole body" in skipped["request 'Raw file': file body"]
    for testcase in conversion.testcases:
        validate_testcase(testcase.document)
        assert all("upload" not in step["request"] for step in testcase.document["teststeps"])


def test_the_same_file_in_two_requests_is_one_project_file():
    field = {"key": "file", "type": "file", "src": "/home/ann/receipt.pdf"}
    other = {"key": "file", "type": "file", "src": "/home/bob/receipt.pdf"}
    conversion = postman.convert(
        _collection(
            _form_request("One", [field]), _form_request("Two", [field]), _form_request("Three", [other])
        ),
        folders="modules",
    )
    uploads = [t.document["teststeps"][0]["request"]["upload"]["file"] for t in conversion.testcases]
    assert uploads == ["files/receipt.pdf", "files/receipt.pdf", "files/receipt-2.pdf"]


@pytest.mark.parametrize(
    ("command", "upload", "type_warned"),
    [
        (
            "curl -F 'name=ann' -F 'avatar=@photo.png' http://shop/up",
            {"name": "ann", "avatar": "files/photo.png"},
            False,
        ),
        ("curl -F 'avatar=@/home/ann/p.png;type=image/png' http://shop/up", {"avatar": "files/p.png"}, True),
        ("curl -F 'a=@\"/tmp/x;y.png\";filename=sent.png' http://shop/up", {"a": "files/sent.png"}, False),
        ("curl --form-string 'path=/a/b' -F 'f=@x.txt' http://shop/up", {"f": "files/x.txt"}, False),
        (
            "curl -F 'f=@x.txt' -F 'g=@y.txt' -F f=text http://shop/up",
            {"f": "text", "g": "files/y.txt"},
            False,
        ),
    ],
)
def test_curl_file_parts(command, upload, type_warned):
    conversion = curl.convert(command)
    request = _only_step(conversion)["request"]
    assert request["upload"] == upload and request["method"] == "POST"
    messages = " ".join(_warnings(conversion).values())
    assert "sent from the project file" in messages
    assert ("is not kept" in messages) is type_warned


def test_curl_files_read_as_text_or_as_the_body_are_reported():
    conversion = curl.convert(
        "curl -F 'msg=<note.txt' -F 'a=b' http://shop/up\ncurl --data-binary @blob.bin http://shop/b"
    )
    skipped = _not_converted(conversion)
    assert "(<)" in skipped["command 1: -F msg=<note.txt"]
    assert "multipart" in skipped["command 2: --data-binary @blob.bin"]
    steps = conversion.testcases[0].document["teststeps"]
    assert steps[0]["request"]["data"] == {"a": "b"}  # no file part left: a form


def test_har_multipart_file_parts():
    har_document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "Chrome", "version": "120"},
            "entries": [
                {
                    "request": {
                        "method": "POST",
                        "url": "https://shop.example/avatar",
                        "headers": [{"name": "Content-Type", "value": "multipart/form-data; boundary=x"}],
                        "postData": {
                            "mimeType": "multipart/form-data; boundary=x",
                            "params": [
                                {"name": "user", "value": "ann"},
                                {"name": "avatar", "fileName": "me.png", "contentType": "image/png"},
                            ],
                        },
                    },
                    "response": {
                        "status": 200,
                        "headers": [],
                        "content": {"mimeType": "application/json", "text": "{}"},
                    },
                }
            ],
        }
    }
    conversion = har.convert(json.loads(json.dumps(har_document)))
    request = _only_step(conversion)["request"]
    assert request["upload"] == {"user": "ann", "avatar": "files/me.png"}
    assert "Content-Type" not in request.get("headers", {})
    assert "'files/me.png'" in _warnings(conversion)["entry 1: file part 'avatar'"]
