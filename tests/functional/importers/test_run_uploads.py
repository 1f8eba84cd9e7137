"""Imported file fields, end to end on the platform: a cURL `-F name=@file` and a Postman
form-data file field imported into a module, run through the worker before and after the
files are put where the report said (`PUT /projects/{id}/files?path=...`)."""

from __future__ import annotations

import email.parser
import email.policy
import json

from tests.functional.runs.conftest import RunsApi, alice, clock, run_queue, runs_api_for, target  # noqa: F401

AVATAR = b"\x89PNG\r\n\x1a\n not really a picture"
RECEIPT = b"%PDF-1.4 receipt of order ord-000042"


def _parts(received: dict) -> dict:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + received["headers"]["content-type"].encode() + b"\r\n\r\n" + received["body"]
    )
    return {
        p.get_param("name", header="content-disposition"): (p.get_filename(), p.get_payload(decode=True))
        for p in message.iter_parts()
    }


def _collection(base_url: str) -> str:
    return json.dumps(
        {
            "info": {
                "name": "Receipts",
                "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
            },
            "variable": [{"key": "baseUrl", "value": base_url}],
            "item": [
                {
                    "name": "Attach a receipt",
                    "request": {
                        "method": "POST",
                        "url": "{{baseUrl}}/hook",
                        "body": {
                            "mode": "formdata",
                            "formdata": [
                                {"key": "kind", "value": "receipt", "type": "text"},
                                {"key": "file", "type": "file", "src": "C:\\Users\\ann\\receipt.pdf"},
                            ],
                        },
                    },
                    "event": [{"listen": "test", "script": {"exec": ["pm.response.to.have.status(200);"]}}],
                }
            ],
        }
    )


def _import(api: RunsApi, module_id: str, source: str, format_name: str) -> dict:
    answer = api.post(f"/modules/{module_id}/import?format={format_name}", raw=source)
    assert answer.status == 201, answer.body
    return answer.body


def _run(api: RunsApi, project_id: str, deliver) -> dict[str, dict]:
    report_id = api.post(f"/projects/{project_id}/runs").body["report_id"]
    deliver()
    return {t["name"]: t for t in api.get(f"/reports/{report_id}").body["testcases"]}


# the runs fixtures (imported above) as parameters
def test_imported_file_fields_run_once_the_files_are_where_the_report_said(alice, target, run_queue):  # noqa: F811
    shop = alice.shop(target.url, [])
    project_id, module_id = shop["project"]["id"], shop["module"]["id"]
    from_curl = _import(
        alice, module_id, f"curl -F note=hi -F 'avatar=@/home/ann/me.png' {target.url}/hook", "curl"
    )
    from_postman = _import(alice, module_id, _collection(target.url), "postman")
    paths = [
        w["message"].split("'")[1]
        for body in (from_curl, from_postman)
        for w in body["report"]["warnings"]
        if w["message"].startswith("sent from the project file")
    ]
    assert paths == ["files/me.png", "files/receipt.pdf"]

    before = _run(alice, project_id, run_queue)  # no files yet: each step fails naming its path
    assert not any(case["success"] for case in before.values())
    errors = " ".join(step.get("error") or "" for case in before.values() for step in case["steps"])
    assert "files/me.png" in errors and "files/receipt.pdf" in errors
    assert target.received == []

    for path, data in (("files/me.png", AVATAR), ("files/receipt.pdf", RECEIPT)):
        put = alice.call(
            "PUT",
            f"/projects/{project_id}/files?path={path}",
            raw=data,
            content_type="application/octet-stream",
        )
        assert put.status == 201, put.body
    after = _run(alice, project_id, run_queue)
    assert all(case["success"] for case in after.values()), after
    # The two test cases run concurrently: order what arrived by its field names, not arrival.
    received = sorted((_parts(r) for r in target.received), key=sorted)
    assert received == [
        {"note": (None, b"hi"), "avatar": ("me.png", AVATAR)},
        {"kind": (None, b"receipt"), "file": ("receipt.pdf", RECEIPT)},
    ]
