"""An OpenAPI import from a URL, re-synced: new operations added, changed ones replaced unless a
user edited them, removed ones reported; the fetch goes through the outbound guard."""

from __future__ import annotations

import json

import pytest

from tests.functional.catalog.conftest import Api
from tests.functional.importers.shop_server import ShopHandler


def _document(operations: dict) -> str:
    return json.dumps({"openapi": "3.1.0", "info": {"title": "pets"}, "paths": operations})


def _operation(operation_id: str, status: int = 200, **extra) -> dict:
    return {"operationId": operation_id, "responses": {str(status): {"description": "ok"}}, **extra}


V1 = {
    "/pets": {"get": _operation("listPets")},
    "/pets/{petId}": {"get": _operation("showPet"), "delete": _operation("deletePet", 204)},
}
V2 = {
    "/pets": {
        "get": _operation(
            "listPets",
            parameters=[
                {
                    "name": "limit",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "integer", "example": 5},
                }
            ],
        ),
        "post": _operation("createPet", 201),
    },
    "/pets/{petId}": {"get": _operation("showPet", 203)},
}


@pytest.fixture
def alice(client, make_user, monkeypatch) -> Api:
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "127.0.0.0/8")  # the local server serving the document
    reset_settings()
    return Api(client, make_user("alice"))


@pytest.fixture
def module(alice) -> str:
    project = alice.post("/projects", {"name": "pets"}).body["id"]
    return alice.post(f"/projects/{project}/modules", {"name": "api"}).body["id"]


def test_import_from_a_url_then_resync(alice, module, shop):
    ShopHandler.documents["pets.json"] = _document(V1)
    url = f"{shop.url}/specs/pets.json"
    imported = alice.post(f"/modules/{module}/import?source_url={url}", raw="", content_type="text/plain")
    assert imported.status == 201, imported.body
    assert imported.body["source_url"] == url
    ids = {t["name"]: t["id"] for t in imported.body["testcases"]}
    assert set(ids) == {"listPets", "showPet", "deletePet"}

    edited = alice.get(f"/testcases/{ids['showPet']}").body["testcase"]
    edited["teststeps"][0]["validate"].append({"equal": ["body.name", "rex"]})
    assert alice.put(f"/testcases/{ids['showPet']}", {"testcase": edited}).status == 200

    ShopHandler.documents["pets.json"] = _document(V2)
    synced = alice.post(f"/modules/{module}/import/sync", raw="", content_type="text/plain")
    assert synced.status == 200, synced.body
    assert [t["name"] for t in synced.body["added"]] == ["createPet"]
    assert synced.body["updated"] == ["listPets"]
    assert synced.body["left_alone"] == ["showPet"]
    assert synced.body["removed"] == ["DELETE /pets/{petId}"]
    listing = alice.get(f"/testcases/{ids['listPets']}").body["testcase"]["teststeps"][0]["request"]
    assert listing["params"] == {"limit": 5}
    kept = alice.get(f"/testcases/{ids['showPet']}").body["testcase"]
    assert kept == edited  # a user's edit is never overwritten
    assert alice.get(f"/testcases/{ids['deletePet']}").status == 200  # reported, not deleted
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 4

    again = alice.post(f"/modules/{module}/import/sync", raw="", content_type="text/plain").body
    assert (again["added"], again["updated"], again["removed"]) == ([], [], [])
    assert again["left_alone"] == ["showPet"]


def test_refusals(alice, module, shop, client, make_user):
    ShopHandler.documents["pets.json"] = _document(V1)
    url = f"{shop.url}/specs/pets.json"
    answer = alice.post(f"/modules/{module}/import/sync", raw="", content_type="text/plain")
    assert answer.status == 404 and answer.error["code"] == "no_import_source"
    answer = alice.post(
        f"/modules/{module}/import?source_url={shop.url}/specs/missing", raw="", content_type="text/plain"
    )
    assert answer.status == 400 and "answered 404" in answer.error["fields"]["source_url"]
    assert answer.error["code"] == "source_unreachable"
    answer = alice.post(
        f"/modules/{module}/import?source_url=http://169.254.169.254/latest/",
        raw="",
        content_type="text/plain",
    )
    assert answer.status == 400 and "source_url" in answer.error["fields"]  # the outbound guard
    assert answer.error["code"] == "source_refused"
    answer = alice.post(
        f"/modules/{module}/import?source_url={url}&per=tag", raw="", content_type="text/plain"
    )
    assert answer.status == 400
    answer = alice.post(
        f"/modules/{module}/import?source_url={url}", raw="curl http://x/", content_type="text/plain"
    )
    assert answer.status == 400
    assert (
        alice.post(f"/modules/{module}/import?source_url={url}", raw="", content_type="text/plain").status
        == 201
    )
    mallory = Api(client, make_user("mallory"))
    assert mallory.post(f"/modules/{module}/import/sync", raw="", content_type="text/plain").status == 404
    assert (
        mallory.post(f"/modules/{module}/import?source_url={url}", raw="", content_type="text/plain").status
        == 404
    )


def _sync_at(alice: Api, module: str, moment):
    from chalicelib.core.edge import Edge, use_edge

    with use_edge(Edge(clock=lambda: moment)):
        return alice.post(f"/modules/{module}/import/sync", raw="", content_type="text/plain")


def test_a_sync_that_dies_after_writing_its_new_testcases_never_makes_them_twice(
    alice, module, shop, monkeypatch
):
    """The worker dies between the writes and the end of its claim (here: both of the
    claim's releases fail). The next sync, once the claim has lapsed, finds the test cases
    recorded as pending, counts them as added and writes nothing twice."""
    from datetime import timedelta

    from chalicelib.core.clock import utcnow
    from chalicelib.imports import service

    ShopHandler.documents["pets.json"] = _document(V1)
    url = f"{shop.url}/specs/pets.json"
    imported = alice.post(f"/modules/{module}/import?source_url={url}", raw="", content_type="text/plain")
    assert imported.status == 201
    ShopHandler.documents["pets.json"] = _document(V2)

    def dies(*_args, **_kwargs):
        raise RuntimeError("the worker is gone")

    monkeypatch.setattr(service, "_release", dies)
    start = utcnow()
    assert _sync_at(alice, module, start).status == 500
    monkeypatch.undo()
    names = [t["name"] for t in alice.get(f"/modules/{module}/testcases").body["items"]]
    assert sorted(names) == ["createPet", "deletePet", "listPets", "showPet"]  # written before it died

    held = _sync_at(alice, module, start + timedelta(seconds=service.SYNC_CLAIM_SECONDS - 1))
    assert held.status == 409 and held.error["code"] == "concurrent_change"  # its claim still holds

    resumed = _sync_at(alice, module, start + timedelta(seconds=service.SYNC_CLAIM_SECONDS + 1))
    assert resumed.status == 200, resumed.body
    assert [t["name"] for t in resumed.body["added"]] == ["createPet"]
    names = [t["name"] for t in alice.get(f"/modules/{module}/testcases").body["items"]]
    assert sorted(names) == ["createPet", "deletePet", "listPets", "showPet"]  # no "createPet (2)"
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 4

    again = _sync_at(alice, module, start + timedelta(seconds=service.SYNC_CLAIM_SECONDS + 2)).body
    assert (again["added"], again["updated"], again["left_alone"]) == ([], [], [])


def test_a_sync_that_dies_before_writing_its_new_testcases_writes_them_next_time(
    alice, module, shop, monkeypatch
):
    """Recorded as pending, never written (the transaction did not happen): the next sync
    writes them under the ids recorded."""
    from datetime import timedelta

    from chalicelib.catalog import access
    from chalicelib.core.clock import utcnow
    from chalicelib.imports import service

    ShopHandler.documents["pets.json"] = _document(V1)
    url = f"{shop.url}/specs/pets.json"
    imported = alice.post(f"/modules/{module}/import?source_url={url}", raw="", content_type="text/plain")
    assert imported.status == 201
    ShopHandler.documents["pets.json"] = _document(V2)
    recorded: list[list[str]] = []

    def dies_before_the_write(*_args, ids, **_kwargs):
        recorded.append(ids)
        raise RuntimeError("the worker is gone")

    monkeypatch.setattr(access, "create_testcases", dies_before_the_write)
    monkeypatch.setattr(service, "_release", lambda *_a, **_k: None)  # and never ends its claim
    start = utcnow()
    assert _sync_at(alice, module, start).status == 500
    monkeypatch.undo()
    assert len(recorded) == 1 and len(recorded[0]) == 1
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 3

    resumed = _sync_at(alice, module, start + timedelta(seconds=service.SYNC_CLAIM_SECONDS + 1))
    assert resumed.status == 200, resumed.body
    assert [(t["name"], t["id"]) for t in resumed.body["added"]] == [("createPet", recorded[0][0])]
    assert alice.get(f"/modules/{module}").body["testcase_count"] == 4
