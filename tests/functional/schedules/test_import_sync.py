"""A task with `sync_imports` re-syncs its modules' OpenAPI imports before each run: the
schedule fires (the scheduler emulator, the runs worker as Lambda calls it), the module's
source is fetched through the outbound guard from a local server whose document changes
between firings, new operations become test cases that run in that same report, removed
ones are reported, a user's edit is left alone; a sync that fails is recorded and the run
still runs; a second sync of a module at the same time writes nothing."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from chalicelib.core.clock import utcnow
from infra.local.scheduler import SchedulerEmulator
from tests.functional.local_http import JsonHandler, LocalHttpServer
from tests.support import FakeClock


def _operation(operation_id: str, status: int = 200) -> dict:
    return {"operationId": operation_id, "responses": {str(status): {"description": "ok"}}}


PET_ID = {"name": "petId", "in": "path", "required": True, "schema": {"type": "integer", "example": 7}}
V1 = {
    "/pets": {"get": _operation("listPets")},
    "/pets/{petId}": {"parameters": [PET_ID], "get": _operation("showPet"),
                      "delete": _operation("deletePet", 204)},
}
# createPet is new, deletePet is gone, showPet now documents 203 (its test case was edited here)
V2 = {
    "/pets": {"get": _operation("listPets"), "post": _operation("createPet", 201)},
    "/pets/{petId}": {"parameters": [PET_ID], "get": _operation("showPet", 203)},
}
V3 = {**V2, "/health": {"get": _operation("health")}}


class PetApi(JsonHandler):
    """GET /specs/<name> serves `documents[name]` (held at `gate` while one is set, after
    saying so on `arrived`); the pets routes answer what the documents promise."""

    documents: dict[str, dict | bytes] = {}
    gate: threading.Event | None = None
    arrived = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path.startswith("/specs/"):
            self.arrived.set()
            if self.gate is not None:
                self.gate.wait(8)
            document = self.documents.get(self.path.removeprefix("/specs/"), b"")
            body = document if isinstance(document, bytes) else json.dumps(document).encode()
            self._send(200, body, [("Content-Type", "application/json")])
        elif self.path.startswith(("/pets", "/health")):
            self._json(200, {"id": 7})
        else:
            self._json(404, {})

    def do_POST(self) -> None:  # noqa: N802
        self._body()
        self._json(201, {"id": 8})

    def do_DELETE(self) -> None:  # noqa: N802
        self._send(204, b"")


def _document(operations: dict, url: str) -> dict:
    return {"openapi": "3.1.0", "info": {"title": "pets"}, "servers": [{"url": url}], "paths": operations}


@pytest.fixture
def pets(monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "127.0.0.0/8")  # this machine's servers
    reset_settings()
    PetApi.gate = None
    PetApi.arrived.clear()
    PetApi.documents = {}
    with LocalHttpServer(PetApi) as server:
        yield server


@pytest.fixture
def worker(app, aws):
    """Hands every message on the runs queue to the app's handler, as Lambda does."""
    from infra.local.pollers import pollers_for

    poller = next(p for p in pollers_for(app, aws("sqs"), "us-east-1") if p.name == "run_jobs")

    def drain() -> int:
        handled = 0
        while poller.poll_once(wait_seconds=0):
            handled += 1
        return handled

    return drain


def _imported(alice, project: str, base: str, name: str = "pets") -> tuple[str, dict[str, str]]:
    """A module imported from `base`/specs/<name>, as it is served now."""
    module = alice.module(project, name)
    url = f"{base}/specs/{name}"
    answer = alice.post(f"/modules/{module}/import?source_url={url}", raw="", content_type="text/plain")
    assert answer.status == 201, answer.body
    return module, {t["name"]: t["id"] for t in answer.body["testcases"]}


def _names_run(alice, report_id: str) -> set[str]:
    report = alice.get(f"/reports/{report_id}").body
    return {case["name"] for case in report["testcases"]}


def _count(alice, module: str) -> int:
    return alice.get(f"/modules/{module}").body["testcase_count"]


def test_a_firing_resyncs_the_import_and_runs_the_new_operation_in_the_same_report(api, aws, pets, worker):
    alice = api()
    project = alice.project(environments={"local": {"base_url": pets.url}})
    PetApi.documents["pets"] = _document(V1, pets.url)
    module, ids = _imported(alice, project, pets.url)
    edited = alice.get(f"/testcases/{ids['showPet']}").body["testcase"]
    edited["teststeps"][0]["validate"].append({"equal": ["body.id", 7]})
    assert alice.put(f"/testcases/{ids['showPet']}", {"testcase": edited}).status == 200
    task = alice.task(project, module_ids=[module], sync_imports=True, crontab="30 9 * * *",
                      timezone="Asia/Shanghai")
    assert task.status == 201 and task.body["sync_imports"] is True
    task_id = task.body["id"]

    PetApi.documents["pets"] = _document(V2, pets.url)
    clock = FakeClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    emulator = SchedulerEmulator(aws, "hat-dev", clock=clock)
    clock.advance(minutes=30)
    assert emulator.tick() == 1
    assert worker() >= 2  # the firing, then the run it queued

    shown = alice.get(f"/tasks/{task_id}").body
    report_id = shown["last_report"]["id"]
    assert shown["last_import_sync"]["report_id"] == report_id
    assert shown["last_import_sync"]["modules"] == [
        {"module_id": module, "added": 1, "updated": 0, "removed": 1, "kept_edited": 1}]
    report = alice.get(f"/reports/{report_id}").body
    assert (report["trigger"], report["status"], report["tests_run"]) == ("schedule", "passed", 4)
    assert report["import_sync"] == shown["last_import_sync"]["modules"]  # on the report too
    assert _names_run(alice, report_id) == {"listPets", "showPet", "deletePet", "createPet"}
    assert alice.get(f"/testcases/{ids['showPet']}").body["testcase"] == edited  # left alone
    assert alice.get(f"/testcases/{ids['deletePet']}").status == 200  # reported, kept
    assert _count(alice, module) == 4

    # Run now (POST /tasks/{id}/runs) re-syncs too, as the caller.
    PetApi.documents["pets"] = _document(V3, pets.url)
    queued = alice.post(f"/tasks/{task_id}/runs")
    assert queued.status == 202
    worker()
    shown = alice.get(f"/tasks/{task_id}").body
    assert shown["last_import_sync"]["report_id"] == queued.body["report_id"]
    assert shown["last_import_sync"]["modules"] == [
        {"module_id": module, "added": 1, "updated": 0, "removed": 0, "kept_edited": 1}]
    assert "health" in _names_run(alice, queued.body["report_id"])
    assert alice.get(f"/reports/{queued.body['report_id']}").body["import_sync"][0]["added"] == 1
    assert _count(alice, module) == 5


def test_a_sync_that_fails_is_recorded_and_the_run_still_runs(api, aws, pets, worker, monkeypatch):
    from chalicelib.core.settings import reset_settings
    from chalicelib.imports.models import ImportSource
    from chalicelib.schedules.service import fire_task

    alice = api()
    project = alice.project(environments={"local": {"base_url": pets.url}})
    for name in ("down", "bad", "big"):
        PetApi.documents[name] = _document(V1, pets.url)
    with LocalHttpServer(PetApi) as doomed:  # the source's server, gone before the firing
        down, _ = _imported(alice, project, doomed.url, "down")
    bad, _ = _imported(alice, project, pets.url, "bad")
    big, _ = _imported(alice, project, pets.url, "big")
    PetApi.documents["bad"] = {"hello": "not an API description"}
    PetApi.documents["big"] = b'{"openapi": "3.1.0", "x": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    task = alice.task(project, module_ids=[down, bad, big], sync_imports=True).body

    fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)
    worker()
    shown = alice.get(f"/tasks/{task['id']}").body
    outcomes = {o["module_id"]: o for o in shown["last_import_sync"]["modules"]}
    assert outcomes[down]["error"]["code"] == "source_unreachable"
    assert "could not fetch it" in outcomes[down]["error"]["message"]
    assert outcomes[bad]["error"]["code"] == "invalid_document"
    assert outcomes[big]["error"]["code"] == "source_too_large"
    report = alice.get(f"/reports/{shown['last_report']['id']}").body
    assert (report["status"], report["tests_run"]) == ("passed", 9)  # the test cases as they were
    assert all(_count(alice, m) == 3 for m in (down, bad, big))
    for module in (down, bad, big):  # a failed sync ends its claim: the next one may go
        assert ImportSource.get(module, consistent_read=True).syncing_until is None

    # The outbound guard: loopback no longer allowed, so the fetch is refused (and the run's
    # requests too: the run still happens, and fails).
    monkeypatch.setenv("HAT_OUTBOUND_ALLOW", "")
    reset_settings()
    fire_task(task["id"], scheduled_time="2026-11-25T01:30:00Z", clock=utcnow)
    worker()
    shown = alice.get(f"/tasks/{task['id']}").body
    refused = {o["module_id"]: o["error"] for o in shown["last_import_sync"]["modules"]}
    assert {e["code"] for e in refused.values()} == {"source_refused"}
    assert "refused to connect to 127.0.0.1" in refused[bad]["message"]
    report = alice.get(f"/reports/{shown['last_report']['id']}").body
    assert (report["status"], report["tests_run"]) == ("failed", 9)


def test_without_any_import_source_the_option_does_nothing(api, aws, pets, worker):
    from chalicelib.schedules.service import fire_task

    alice = api()
    project = alice.project(environments={"local": {"base_url": pets.url}})
    plain = alice.module(project, "plain")
    document = {"config": {"name": "health", "base_url": pets.url},
                "teststeps": [{"name": "get", "request": {"method": "GET", "url": "/health"},
                               "validate": [{"eq": ["status_code", 200]}]}]}
    assert alice.post(f"/modules/{plain}/testcases", {"name": "health", "testcase": document}).status == 201
    task = alice.task(project, sync_imports=True).body  # no module_ids: the whole project
    fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)
    worker()
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["last_import_sync"] == {"report_id": shown["last_report"]["id"],
                                         "at": shown["last_report"]["at"], "modules": []}
    assert alice.get(f"/reports/{shown['last_report']['id']}").body["status"] == "passed"

    # The whole project: only its modules imported from a URL are synced.
    PetApi.documents["pets"] = _document(V1, pets.url)
    module, _ = _imported(alice, project, pets.url)
    PetApi.documents["pets"] = _document(V2, pets.url)
    fire_task(task["id"], scheduled_time="2026-11-25T01:30:00Z", clock=utcnow)
    worker()
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["last_import_sync"]["modules"] == [
        {"module_id": module, "added": 1, "updated": 1, "removed": 1, "kept_edited": 0}]

    # Without the option, no sync and nothing recorded.
    quiet = alice.task(project, name="quiet").body
    PetApi.documents["pets"] = _document(V3, pets.url)
    fire_task(quiet["id"], scheduled_time="2026-11-25T01:30:00Z", clock=utcnow)
    worker()
    quiet_shown = alice.get(f"/tasks/{quiet['id']}").body
    assert quiet_shown["last_import_sync"] is None
    assert "import_sync" not in alice.get(f"/reports/{quiet_shown['last_report']['id']}").body
    assert _count(alice, module) == 4


def test_a_redelivered_or_concurrent_firing_makes_no_duplicate_testcases(api, aws, pets, worker):
    from chalicelib.imports.service import sync_module
    from chalicelib.schedules.service import fire_task

    alice = api()
    project = alice.project(environments={"local": {"base_url": pets.url}})
    PetApi.documents["pets"] = _document(V1, pets.url)
    module, _ = _imported(alice, project, pets.url)
    task = alice.task(project, module_ids=[module], sync_imports=True).body
    PetApi.documents["pets"] = _document(V2, pets.url)

    # The same firing delivered twice: one sync, one run.
    first = fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow)
    assert first["status"] == "queued"
    assert fire_task(task["id"], scheduled_time="2026-11-24T01:30:00Z", clock=utcnow) is None
    assert _count(alice, module) == 4 and alice.get(f"/tasks/{task['id']}").body["run_count"] == 1
    # A firing without a scheduled time (not deduplicated) syncs again: nothing new to add.
    fire_task(task["id"], clock=utcnow)
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["last_import_sync"]["modules"][0]["added"] == 0 and _count(alice, module) == 4

    # A sync at work (its fetch held by the server) when the task fires: the firing's sync
    # finds the module claimed and writes nothing; the run goes on.
    PetApi.documents["pets"] = _document(V3, pets.url)
    PetApi.arrived.clear()
    PetApi.gate = threading.Event()
    results: list[dict] = []
    other = threading.Thread(target=lambda: results.append(sync_module(alice.user, module, clock=utcnow)))
    other.start()
    try:
        assert PetApi.arrived.wait(5)
        racing = fire_task(task["id"], scheduled_time="2026-11-25T01:30:00Z", clock=utcnow)
    finally:
        PetApi.gate.set()
        other.join(10)
    assert racing["status"] == "queued"
    shown = alice.get(f"/tasks/{task['id']}").body
    assert shown["last_import_sync"]["report_id"] == racing["report_id"]
    assert shown["last_import_sync"]["modules"][0]["error"]["code"] == "concurrent_change"
    assert [t["name"] for t in results[0]["added"]] == ["health"]
    assert _count(alice, module) == 5
    worker()
    assert alice.get(f"/reports/{racing['report_id']}").body["tests_run"] == 5


def test_the_option_is_a_strict_boolean(api, aws):
    alice = api()
    project = alice.project()
    answer = alice.task(project, sync_imports="yes")
    assert answer.status == 400 and "sync_imports" in answer.error["fields"]
    assert alice.get(f"/tasks?project_id={project}").body["items"] == []  # nothing written
    task = alice.task(project).body
    assert task["sync_imports"] is False and task["last_import_sync"] is None
    answer = alice.patch(f"/tasks/{task['id']}", {"sync_imports": None})
    assert answer.status == 400 and "sync_imports" in answer.error["fields"]
    answer = alice.patch(f"/tasks/{task['id']}", {"sync_imports": 1})
    assert answer.status == 400 and "sync_imports" in answer.error["fields"]
    assert alice.patch(f"/tasks/{task['id']}", {"sync_imports": True}).body["sync_imports"] is True
    assert alice.get(f"/tasks/{task['id']}").body["sync_imports"] is True


def test_a_run_syncs_a_bounded_number_of_modules_in_a_bounded_time(api, aws, pets):
    from chalicelib.imports.service import sync_before_run

    alice = api()
    project = alice.project()
    PetApi.documents["one"] = PetApi.documents["two"] = _document(V1, pets.url)
    one, _ = _imported(alice, project, pets.url, "one")
    two, _ = _imported(alice, project, pets.url, "two")
    PetApi.documents["one"] = PetApi.documents["two"] = _document(V2, pets.url)

    # less than a fetch
    skipped = sync_before_run(alice.user, project, [one, two], budget_seconds=5, clock=utcnow)
    assert [(o["module_id"], o["error"]["code"]) for o in skipped] == [
        (one, "sync_skipped"), (two, "sync_skipped")]
    assert "5 s" in skipped[0]["error"]["message"]
    capped = sync_before_run(alice.user, project, [one, two], budget_seconds=60, max_modules=1,
                             clock=utcnow)
    assert capped[0] == {"module_id": one, "added": 1, "updated": 1, "removed": 1, "kept_edited": 0}
    assert capped[1]["error"] == {"code": "sync_skipped", "message": "a run re-syncs at most 1 modules"}
    assert (_count(alice, one), _count(alice, two)) == (4, 3)
