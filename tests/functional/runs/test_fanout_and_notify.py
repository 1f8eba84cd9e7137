"""Chunked fan-out through the queue (atomic aggregation, finished by the last chunk, no double
count on redelivery); notifications by `when`, recovery, never twice per report."""
from __future__ import annotations

import json

import pytest

from chalicelib.core.clock import utcnow
from chalicelib.core.edge import run_testcases
from chalicelib.runs import followups, queueing, worker
from tests.functional.runs.conftest import case, queue_messages


@pytest.fixture
def small_chunks(monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_RUN_CHUNK_SIZE", "2")
    reset_settings()


def test_a_big_run_fans_out_in_chunks_and_the_last_chunk_finishes_it(alice, target, run_queue, aws,
                                                                    small_chunks):
    cases = [case(f"c{i}") for i in range(4)] + [case("bad", status=500)]
    shop = alice.shop(target.url, cases)
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert report["chunks"] == {"total": 3, "done": 3}
    counts = (report["status"], report["tests_run"], report["successes"], report["failures"])
    assert counts == ("failed", 5, 4, 1)
    assert sorted(t["name"] for t in report["testcases"]) == ["bad", "c0", "c1", "c2", "c3"]
    hits = len(target.hits)
    assert hits == 5

    # every chunk delivered again: nothing runs, nothing is counted twice
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hat-dev-runs")["QueueUrl"]
    ids = [t["id"] for t in shop["testcases"]]
    for chunk in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
            "kind": "chunk", "report_id": report_id, "chunk": chunk,
            "testcase_ids": ids[2 * chunk:2 * chunk + 2],
            "job_id": f"chunk-{report_id}-{chunk}"}))
    run_queue()
    assert len(target.hits) == hits
    again = alice.get(f"/reports/{report_id}").body
    assert (again["tests_run"], again["successes"], again["status"]) == (5, 4, "failed")
    board = alice.get("/dashboard").body["days"][-1]
    assert (board["pass"], board["fail"]) == (4, 1)


def test_a_chunk_redelivered_before_the_others_land_is_counted_once(alice, target, aws, small_chunks):
    shop = alice.shop(target.url, [case(f"c{i}") for i in range(3)])
    report_id = queueing.start_run(shop["project"]["id"], module_ids=None, environment=None,
                                  trigger="manual", clock=utcnow)["report_id"]
    queue_messages(aws, "runs")
    assert worker.handle_run(report_id, budget_seconds=None, clock=utcnow, runner=run_testcases) == "running"
    chunks = [m for m in queue_messages(aws, "runs") if m.get("kind") == "chunk"]
    assert [c["chunk"] for c in chunks] == [0, 1]
    first = chunks[0]
    for _ in range(2):
        assert worker.handle_chunk(report_id, 0, first["testcase_ids"], budget_seconds=None, clock=utcnow,
                                   runner=run_testcases) == "running"
    assert worker.handle_chunk(report_id, 1, chunks[1]["testcase_ids"], budget_seconds=None, clock=utcnow,
                               runner=run_testcases) == "passed"
    report = alice.get(f"/reports/{report_id}").body
    assert (report["tests_run"], report["successes"]) == (3, 3)


def _run(alice, project_id: str, run_queue, aws, notify: dict,
         confirm_outside) -> tuple[str, list[dict], list[dict]]:
    report_id = alice.post(f"/projects/{project_id}/runs", {"notify": notify}).body["report_id"]
    confirm_outside()  # before the run finishes: outside addresses get nothing until they confirm
    run_queue()
    return report_id, queue_messages(aws, "email"), queue_messages(aws, "sms")


def test_failure_notifies_then_recovery_once_and_redelivery_never_twice(alice, target, run_queue, aws,
                                                                        confirm_outside):
    shop = alice.shop(target.url, [case("checkout", status=500)])
    project_id, testcase_id = shop["project"]["id"], shop["testcases"][0]["id"]
    notify = {"emails": ["ops@example.com"], "mobiles": ["+8613800138000"], "when": "failure"}

    report_id, emails, sms = _run(alice, project_id, run_queue, aws, notify, confirm_outside)
    assert [e["to"] for e in emails] == ["ops@example.com"] and [s["to"] for s in sms] == ["+8613800138000"]
    assert "FAILED" in emails[0]["subject"] and "checkout" in emails[0]["body"]
    assert "expected 200, actual 500" in emails[0]["body"]
    assert len(sms[0]["body"]) <= 160 and "FAILED" in sms[0]["body"]
    from chalicelib.runs.models import Report

    followups.after_finish(Report.get(report_id), clock=utcnow)  # a redelivery after the fact
    assert queue_messages(aws, "email") == [] and queue_messages(aws, "sms") == []

    fixed = case("checkout")
    assert alice.put(f"/testcases/{testcase_id}", {"testcase": fixed}).status == 200
    _id, emails, sms = _run(alice, project_id, run_queue, aws, notify, confirm_outside)
    assert len(emails) == 1 and "FIXED" in emails[0]["subject"]  # recovery
    _id, emails, sms = _run(alice, project_id, run_queue, aws, notify, confirm_outside)
    assert emails == [] and sms == []  # passing again: quiet
    _id, emails, _sms = _run(alice, project_id, run_queue, aws, {**notify, "when": "always"}, confirm_outside)
    assert len(emails) == 1 and "PASSED" in emails[0]["subject"]
    _id, emails, sms = _run(alice, project_id, run_queue, aws, {**notify, "when": "never"}, confirm_outside)
    assert emails == [] and sms == []


def test_notifications_reach_smtp_and_twilio_once_with_an_html_summary(alice, target, run_queue, aws,
                                                                       notify, confirm_outside):
    shop = alice.shop(target.url, [case("down <b>&</b>", status=503)])
    alice.post(f"/projects/{shop['project']['id']}/runs",
               {"notify": {"emails": ["ops@example.com"], "mobiles": ["+8613800138000"], "when": "failure"}})
    confirm_outside()
    run_queue()
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hat-dev-email")["QueueUrl"]
    message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    assert json.loads(message["Body"])["job_id"].startswith("report-")
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])  # a duplicate of the job
    notify.deliver(rounds=2)

    assert [m["To"] for m in notify.smtp.messages] == ["ops@example.com"]  # sent once
    email = notify.smtp.messages[0]
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(preferencelist=("plain",)).get_content()
    html = email.get_body(preferencelist=("html",)).get_content()
    assert "expected 200, actual 503" in text and "down <b>&</b>" in text
    assert "down &lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html  # user text escaped
    assert "expected <code>200</code>, actual <code>503</code>" in html
    assert [item["to"] for item in notify.outbox if item["channel"] == "sms"] == ["+8613800138000"]
