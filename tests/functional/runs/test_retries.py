"""Retries of a whole run (issue 20, item 4; runs/retries.py): a task's `retries` policy runs the
failing test cases again after each backoff's delays, queued with SQS DelaySeconds (recorded
here from the SendMessage calls) and driven by handing the queued attempt message to the job
handler on an injected clock; only the final verdict reaches history and alerts, once."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.core.clock import isoformat
from chalicelib.core.edge import run_testcases
from tests.functional.notify.chat_stand_in import ChatStandIn
from tests.functional.runs.conftest import case, queue_messages
from tests.support import hook_clients

SCHEDULED = "2026-11-22T08:00:00Z"


def flaky(name: str, failures: int) -> dict:
    """A test case whose request answers 500 `failures` times, then 200."""
    return {"config": {"name": name}, "teststeps": [{
        "name": f"{name} step", "request": {"method": "GET", "url": f"/flaky/{name}/{failures}"},
        "validate": [{"eq": ["status_code", 200]}]}]}


@pytest.fixture
def chat():
    stand_in = ChatStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def sent(aws, monkeypatch) -> list[dict]:
    """The parameters of every SQS SendMessage from here on (their MessageBody and DelaySeconds)."""
    calls: list[dict] = []

    def record(params, **_kwargs) -> None:
        calls.append(dict(params))

    unhook = hook_clients(monkeypatch, record, event="before-parameter-build.sqs.SendMessage", service="sqs")
    yield calls
    unhook()


def attempt_messages(sent: list[dict]) -> list[tuple[dict, int]]:
    """(body, DelaySeconds) of each attempt message sent, oldest first."""
    bodies = [(json.loads(p["MessageBody"]), int(p.get("DelaySeconds") or 0)) for p in sent]
    return [(body, delay) for body, delay in bodies if body.get("kind") == "attempt"]


def task_with(api, project_id: str, retries: dict | None, **fields) -> dict:
    answer = api.post("/tasks", {"name": "nightly", "project_id": project_id, "crontab": "0 3 * * *",
                                 **({"retries": retries} if retries is not None else {}), **fields})
    assert answer.status == 201, answer.body
    return answer.body


def fire(task_id: str, aws, clock) -> str:
    """The task's schedule fires; its run job runs here, on the test's clock."""
    from chalicelib.runs import worker
    from chalicelib.schedules.service import fire_task

    report_id = fire_task(task_id, scheduled_time=SCHEDULED, clock=clock)["report_id"]
    assert [m["kind"] for m in queue_messages(aws, "runs")] == ["run"]
    worker.handle_run(report_id, clock=clock, budget_seconds=None, runner=run_testcases)
    return report_id


def drive_attempts(sent: list[dict], clock, *, start: int = 0) -> list[int]:
    """Hand each queued attempt message to the handler when due by the clock; their delays."""
    from chalicelib.runs import worker

    delays, handled = [], start
    while len(attempt_messages(sent)) > handled:
        body, delay = attempt_messages(sent)[handled]
        delays.append(delay)
        clock.advance(seconds=delay)
        worker.handle_message(body, clock=clock, budget_seconds=None, runner=run_testcases)
        handled += 1
    return delays


@pytest.mark.parametrize(("backoff", "expected"), [
    ("fixed", [60, 60, 60]), ("linear", [60, 120, 180]), ("exponential", [60, 120, 240])])
def test_each_backoff_queues_its_delays_and_the_report_lists_every_attempt(alice, target, aws, clock, sent,
                                                                           backoff, expected):
    shop = alice.shop(target.url, [case("checkout", status=500)])
    tid = shop["testcases"][0]["id"]
    policy = {"attempts": 3, "backoff": backoff, "delay_seconds": 60, "max_total_seconds": 3600}
    task = task_with(alice, shop["project"]["id"], policy)
    assert task["retries"] == policy
    start = clock.now
    report_id = fire(task["id"], aws, clock)
    waiting = alice.get(f"/reports/{report_id}").body
    assert waiting["status"] == "running" and "alerts" not in waiting
    assert waiting["attempts"][0]["next_attempt_at"] == isoformat(start + timedelta(seconds=expected[0]))
    assert drive_attempts(sent, clock) == expected

    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed" and report["tests_run"] == 1 and report["failures"] == 1
    assert [a["attempt"] for a in report["attempts"]] == [1, 2, 3, 4]
    assert all(a["status"] == "failed" and a["failed_testcases"] == [tid] for a in report["attempts"])
    due, moments = start, []
    for delay in expected:
        due += timedelta(seconds=delay)
        moments.append(isoformat(due))
    assert [a.get("next_attempt_at") for a in report["attempts"]] == [*moments, None]
    assert [a["started_at"] for a in report["attempts"][1:]] == moments
    assert len(report["testcases"][0]["earlier_attempts"]) == 3
    assert len(target.hits) == 4


def test_a_delay_never_passes_sqs_longest():
    from chalicelib.runs.retries import delay_seconds

    policy = {"backoff": "exponential", "delay_seconds": 600}
    assert [delay_seconds(policy, retry) for retry in (1, 2, 3)] == [600, 900, 900]


def test_a_testcase_passing_on_attempt_2_passes_the_report_with_one_alert(alice, target, aws, clock, sent,
                                                                          run_queue, chat):
    shop = alice.shop(target.url, [case("stable"), flaky("login", 1)])
    pid = shop["project"]["id"]
    stable, login = (t["id"] for t in shop["testcases"])
    alice.patch(f"/projects/{pid}", {"alerts": [
        {"id": "w", "type": "wecom", "target": f"{chat.url}/wecom", "when": ["always"]}]})
    task = task_with(alice, pid, {"attempts": 2, "delay_seconds": 30})
    report_id = fire(task["id"], aws, clock)
    run_queue()  # nothing for the failed first attempt: no alert, no history
    assert chat.received == []
    assert alice.get(f"/tasks/{task['id']}/history").body["items"] == []

    assert drive_attempts(sent, clock) == [30]
    report = alice.get(f"/reports/{report_id}").body
    assert (report["status"], report["tests_run"], report["successes"], report["failures"]) == \
        ("passed", 2, 2, 0)
    assert [(a["attempt"], a["status"], a["tests_run"], a["failed_testcases"])
            for a in report["attempts"]] == [(1, "failed", 2, [login]), (2, "passed", 1, [])]
    by_id = {c["testcase_id"]: c for c in report["testcases"]}
    assert "earlier_attempts" not in by_id[stable] and by_id[stable]["success"]
    assert by_id[login]["success"] and by_id[login]["attempt"] == 2
    assert [(e["attempt"], e["success"]) for e in by_id[login]["earlier_attempts"]] == [(1, False)]
    assert by_id[login]["earlier_attempts"][0]["steps"][0]["status_code"] == 500
    assert target.hits.count("/status/200") == 1 and target.hits.count("/flaky/login/1") == 2

    run_queue()
    assert [a["outcome"] for a in alice.get(f"/reports/{report_id}").body["alerts"]] == ["delivered"]
    assert len(chat.of("wecom")) == 1
    assert [e["status"] for e in alice.get(f"/tasks/{task['id']}/history").body["items"]] == ["passed"]
    assert [e["status"] for e in alice.get(f"/testcases/{login}/history").body["items"]] == ["passed"]
    from chalicelib.runs.reading import dashboard

    days = dashboard(alice.user, clock=clock)["days"]  # the final verdict's counts only
    assert (sum(d["pass"] for d in days), sum(d["fail"] for d in days)) == (2, 0)


def test_all_attempts_failing_alert_once(alice, target, aws, clock, sent, run_queue, chat):
    shop = alice.shop(target.url, [case("checkout", status=500)])
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [{"id": "w", "type": "wecom", "target": f"{chat.url}/wecom"}]})
    task = task_with(alice, pid, {"attempts": 2, "backoff": "linear", "delay_seconds": 45})
    report_id = fire(task["id"], aws, clock)
    run_queue()
    assert drive_attempts(sent, clock) == [45, 90]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed" and len(report["attempts"]) == 3
    assert [a["outcome"] for a in report["alerts"]] == ["delivered"]
    texts = [r.json["markdown"]["content"] for r in chat.of("wecom")]
    assert len(texts) == 1 and "FAILED" in texts[0]
    assert [e["status"] for e in alice.get(f"/tasks/{task['id']}/history").body["items"]] == ["failed"]
    assert alice.get(f"/tasks/{task['id']}").body["run_count"] == 1


def test_the_budget_stops_the_attempts_early(alice, target, aws, clock, sent):
    shop = alice.shop(target.url, [case("checkout", status=500)])
    task = task_with(alice, shop["project"]["id"],
                     {"attempts": 5, "delay_seconds": 300, "max_total_seconds": 600})
    report_id = fire(task["id"], aws, clock)
    assert drive_attempts(sent, clock) == [300, 300]  # a third would be due 900 s after the start
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "failed" and [a["attempt"] for a in report["attempts"]] == [1, 2, 3]
    assert "next_attempt_at" not in report["attempts"][-1]
    assert report["duration_ms"] == sum(a["duration_ms"] for a in report["attempts"])


def test_a_redelivered_attempt_message_does_nothing(alice, target, aws, clock, sent, run_queue, chat):
    from chalicelib.runs import worker

    shop = alice.shop(target.url, [flaky("login", 2)])
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [
        {"id": "w", "type": "wecom", "target": f"{chat.url}/wecom", "when": ["always"]}]})
    task = task_with(alice, pid, {"attempts": 3, "delay_seconds": 30})
    report_id = fire(task["id"], aws, clock)
    assert drive_attempts(sent, clock) == [30, 30]
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "passed" and [a["status"] for a in report["attempts"]] == ["failed", "failed",
                                                                                          "passed"]
    hits, messages = len(target.hits), len(sent)
    for body, _delay in attempt_messages(sent):  # every attempt message again, and the run job
        assert worker.handle_message(body, clock=clock, budget_seconds=None, runner=run_testcases) == "passed"
    assert worker.handle_run(report_id, clock=clock, budget_seconds=None, runner=run_testcases) == "passed"
    run_queue()
    assert len(target.hits) == hits == 3
    assert alice.get(f"/reports/{report_id}").body["attempts"] == report["attempts"]
    assert len(chat.of("wecom")) == 1
    assert [e["status"] for e in alice.get(f"/tasks/{task['id']}/history").body["items"]] == ["passed"]
    assert len(sent) == messages  # the redeliveries queued nothing (the one alert job went before)


def test_an_attempt_message_early_for_its_record_is_retried_later(alice, target, aws, clock, sent):
    from chalicelib.core.jobs import JobInProgress
    from chalicelib.runs import retries, worker

    shop = alice.shop(target.url, [case("checkout", status=500)])
    task = task_with(alice, shop["project"]["id"], {"attempts": 2, "delay_seconds": 30})
    report_id = fire(task["id"], aws, clock)
    with pytest.raises(JobInProgress):  # attempt 3 queued before attempt 2's record committed
        worker.handle_message(retries.message(report_id, 3), clock=clock, budget_seconds=None,
                              runner=run_testcases)
    stray = worker.handle_message(retries.message(report_id, 5), clock=clock, budget_seconds=None,
                                  runner=run_testcases)
    assert stray == "running"  # stray: nothing
    assert len(target.hits) == 1


def test_a_worker_dying_between_the_send_and_its_record_loses_no_attempt(alice, target, aws, clock, sent,
                                                                           monkeypatch, chat, run_queue):
    """The next attempt's message is on the queue, then the worker dies before its UpdateItem:
    the message carries the record and writes it itself, so the retry runs when due instead of
    the report waiting ~15 minutes for the reaper's `error`."""
    from chalicelib.runs import worker

    shop = alice.shop(target.url, [flaky("login", 1)])
    pid = shop["project"]["id"]
    alice.patch(f"/projects/{pid}", {"alerts": [
        {"id": "w", "type": "wecom", "target": f"{chat.url}/wecom", "when": ["always"]}]})
    task = task_with(alice, pid, {"attempts": 2, "delay_seconds": 45})

    def dies(*_args, **_kwargs):
        raise RuntimeError("the worker is gone")

    from chalicelib.schedules.service import fire_task

    report_id = fire_task(task["id"], scheduled_time=SCHEDULED, clock=clock)["report_id"]
    monkeypatch.setattr(worker, "record_attempt", dies)
    with pytest.raises(RuntimeError, match="the worker is gone"):
        worker.handle_run(report_id, clock=clock, budget_seconds=None, runner=run_testcases)
    monkeypatch.undo()
    left = alice.get(f"/reports/{report_id}").body
    assert left["status"] == "running" and not left.get("attempts")  # the record never written
    [(body, delay)] = attempt_messages(sent)
    assert (body["attempt"], delay) == (2, 45) and body["previous"]["status"] == "failed"

    clock.advance(seconds=delay)
    assert worker.handle_message(body, clock=clock, budget_seconds=None, runner=run_testcases) == "passed"
    report = alice.get(f"/reports/{left['id']}").body
    assert [(a["attempt"], a["status"]) for a in report["attempts"]] == [(1, "failed"), (2, "passed")]
    assert report["attempts"][0]["delay_seconds"] == 45 and report["attempts"][0]["failed_testcases"]
    # Delivered again, the message does nothing more; nor does the run job's own redelivery
    # (still on the queue: its handler died), and the one alert goes out.
    assert worker.handle_message(body, clock=clock, budget_seconds=None, runner=run_testcases) == "passed"
    run_queue()
    assert len(target.hits) == 2 and len(chat.of("wecom")) == 1


def test_the_sender_and_the_message_recording_the_same_attempt_leave_one_record(alice, target, aws, clock,
                                                                                 sent, monkeypatch):
    """The message got there first (a short delay, a slow sender): the sender's own update then
    finds the counter moved and writes nothing; the report lists each attempt once."""
    from chalicelib.runs import models, worker

    shop = alice.shop(target.url, [case("checkout", status=500)])
    task = task_with(alice, shop["project"]["id"], {"attempts": 1, "delay_seconds": 5})
    real = worker.record_attempt
    raced: list[bool] = []

    def message_first(report, number, previous, due):
        [(body, _delay)] = attempt_messages(sent)
        fresh = models.Report.get(report.id, consistent_read=True)
        assert real(fresh, number, body["previous"], body["due"])  # the message's handler wins
        raced.append(real(report, number, previous, due))  # then the sender's update
        return raced[-1]

    monkeypatch.setattr(worker, "record_attempt", message_first)
    report_id = fire(task["id"], aws, clock)
    monkeypatch.undo()
    assert raced == [False]
    stored = alice.get(f"/reports/{report_id}").body
    assert [a["attempt"] for a in stored["attempts"]] == [1]
    assert drive_attempts(sent, clock) == [5]
    final = alice.get(f"/reports/{report_id}").body
    assert final["status"] == "failed" and [a["attempt"] for a in final["attempts"]] == [1, 2]


def test_a_manual_run_retries_only_when_its_body_asks(alice, target, aws, clock, sent):
    from chalicelib.runs import worker

    shop = alice.shop(target.url, [case("checkout", status=500)])
    runs = f"/projects/{shop['project']['id']}/runs"
    plain = alice.post(runs).body["report_id"]
    queue_messages(aws, "runs")
    assert worker.handle_run(plain, clock=clock, budget_seconds=None, runner=run_testcases) == "failed"
    assert "attempts" not in alice.get(f"/reports/{plain}").body and attempt_messages(sent) == []

    answer = alice.post(runs, {"retries": {"attempts": 1, "delay_seconds": 5}})
    assert answer.status == 202, answer.body
    queue_messages(aws, "runs")
    worker.handle_run(answer.body["report_id"], clock=clock, budget_seconds=None, runner=run_testcases)
    assert drive_attempts(sent, clock) == [5]
    report = alice.get(f"/reports/{answer.body['report_id']}").body
    assert report["status"] == "failed" and report["retries"]["attempts"] == 1
    assert len(report["attempts"]) == 2


@pytest.mark.parametrize(("retries", "field"), [
    ({"attempts": 6}, "retries.attempts"), ({"attempts": -1}, "retries.attempts"),
    ({"attempts": "2"}, "retries.attempts"), ({"attempts": True}, "retries.attempts"),
    ({"backoff": "random"}, "retries.backoff"), ({"delay_seconds": 0}, "retries.delay_seconds"),
    ({"delay_seconds": 601}, "retries.delay_seconds"),
    ({"max_total_seconds": 3601}, "retries.max_total_seconds"),
    ({"max_total_seconds": 0}, "retries.max_total_seconds"), ({"jitter": True}, "retries.jitter"),
    ("twice", "retries")])
def test_bad_retries_are_400s_naming_the_field(alice, target, retries, field):
    shop = alice.shop(target.url)
    pid = shop["project"]["id"]
    body = {"name": "nightly", "project_id": pid, "crontab": "0 3 * * *", "retries": retries}
    created = alice.post("/tasks", body)
    assert created.status == 400 and field in created.error["fields"], created.body
    task = task_with(alice, pid, None, name="other")
    patched = alice.patch(f"/tasks/{task['id']}", {"retries": retries})
    assert patched.status == 400 and field in patched.error["fields"], patched.body
    run = alice.post(f"/projects/{pid}/runs", {"retries": retries})
    assert run.status == 400 and field in run.error["fields"], run.body
    assert alice.get(f"/tasks/{task['id']}").body["retries"] is None


def test_a_tasks_retries_are_set_shown_and_cleared(alice, target):
    shop = alice.shop(target.url)
    task = task_with(alice, shop["project"]["id"], {"attempts": 2})
    assert task["retries"] == {"attempts": 2, "backoff": "fixed", "delay_seconds": 30,
                               "max_total_seconds": 600}
    changed = alice.patch(f"/tasks/{task['id']}", {"retries": {"attempts": 1, "backoff": "exponential"}})
    assert changed.status == 200 and changed.body["retries"]["backoff"] == "exponential"
    assert alice.get(f"/tasks/{task['id']}").body["retries"]["attempts"] == 1
    cleared = alice.patch(f"/tasks/{task['id']}", {"retries": None})
    assert cleared.status == 200 and cleared.body["retries"] is None
    assert alice.get(f"/tasks/{task['id']}").body["retries"] is None


def test_a_fanned_out_run_retries_its_failing_test_cases(alice, target, aws, clock, sent, monkeypatch):
    from chalicelib.core.settings import reset_settings
    from chalicelib.runs import worker

    monkeypatch.setenv("HAT_RUN_CHUNK_SIZE", "1")
    reset_settings()
    shop = alice.shop(target.url, [case("stable"), flaky("login", 1)])
    task = task_with(alice, shop["project"]["id"], {"attempts": 1, "delay_seconds": 10})
    report_id = fire(task["id"], aws, clock)
    chunks = queue_messages(aws, "runs")
    assert [m["kind"] for m in chunks] == ["chunk", "chunk"]
    for message in chunks + chunks:  # each chunk delivered twice: the merge queues one attempt
        worker.handle_message(message, clock=clock, budget_seconds=None, runner=run_testcases)
    assert drive_attempts(sent, clock) == [10]
    report = alice.get(f"/reports/{report_id}").body
    assert (report["status"], report["tests_run"], report["successes"]) == ("passed", 2, 2)
    assert [a["status"] for a in report["attempts"]] == ["failed", "passed"]
    assert target.hits.count("/flaky/login/1") == 2 and target.hits.count("/status/200") == 1
