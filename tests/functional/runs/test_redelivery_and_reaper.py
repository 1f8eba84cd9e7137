"""At-least-once delivery never runs a report twice nor counts it twice; the reaper ends
reports stuck in running (or queued) as error, driven by a moved clock."""
from __future__ import annotations

import json

from chalicelib.runs import followups, queueing, worker
from chalicelib.runs.models import Report
from tests.functional.runs.conftest import case


def _send(aws, body: dict) -> None:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hat-dev-runs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _stats(aws) -> list[dict]:
    return aws("dynamodb").scan(TableName="hat-dev-run-stats", ConsistentRead=True)["Items"]


def test_a_redelivered_run_job_neither_runs_again_nor_counts_twice(alice, target, run_queue, aws):
    shop = alice.shop(target.url, [case("one"), case("two")])
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    run_queue()
    hits = len(target.hits)
    assert hits == 2
    before = alice.get(f"/reports/{report_id}").body
    for _ in range(3):  # the same job again, as SQS may deliver it
        _send(aws, {"kind": "run", "report_id": report_id, "job_id": f"run-{report_id}"})
    run_queue()
    after = alice.get(f"/reports/{report_id}").body
    assert len(target.hits) == hits
    assert after == before
    counters = _stats(aws)
    assert len(counters) == 1
    values = {k: int(v["N"]) for k, v in counters[0].items() if k[0] in "ts" and k[1:].isdigit()}
    assert sorted(values.values()) == [2, 2]  # one report: t=2, s=2, counted once


def test_a_crash_after_finishing_is_completed_by_the_redelivery_without_rerunning(alice, target, run_queue,
                                                                                   monkeypatch):
    shop = alice.shop(target.url)
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs",
                           {"callback_url": f"{target.url}/hook"}).body["report_id"]
    real = followups.after_finish
    crashes = []

    def crash_once(report, **kwargs):
        if not crashes:
            crashes.append(report.id)
            raise RuntimeError("Lambda died after the commit")
        return real(report, **kwargs)

    monkeypatch.setattr(worker, "after_finish", crash_once)  # as the worker calls it
    run_queue()
    assert crashes == [report_id]
    assert len([h for h in target.hits if h.startswith("/status")]) == 1  # ran once
    assert alice.get(f"/reports/{report_id}").body["status"] == "passed"
    assert len(target.received) == 1  # the callback still went, once


def test_a_job_whose_first_try_failed_before_finishing_runs_again_and_finishes_once(alice, target, run_queue,
                                                                                     monkeypatch):
    from chalicelib.runs import store

    shop = alice.shop(target.url)
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]
    real, failures = store.put_detail, []

    def flaky(key, detail):
        if not failures:
            failures.append(key)
            raise ConnectionError("S3 hiccup")
        return real(key, detail)

    monkeypatch.setattr(store, "put_detail", flaky)
    run_queue()
    report = alice.get(f"/reports/{report_id}").body
    assert failures and report["status"] == "passed" and report["tests_run"] == 1


def test_the_reaper_ends_stuck_running_and_queued_reports_and_a_late_finish_is_dropped(alice, target, clock,
                                                                                       app, aws):
    from infra.local.scheduler import SchedulerEmulator

    shop = alice.shop(target.url)
    project_id = shop["project"]["id"]
    stuck = queueing.start_run(project_id, module_ids=None, environment=None, trigger="manual",
                              clock=clock)["report_id"]
    fresh = queueing.start_run(project_id, module_ids=None, environment=None, trigger="manual",
                              clock=clock)["report_id"]
    worker._mark_running(Report.get(stuck), clock())
    clock.advance(minutes=10)
    worker._mark_running(Report.get(fresh), clock())
    never_started = queueing.start_run(project_id, module_ids=None, environment=None, trigger="schedule",
                                      clock=clock)["report_id"]

    scheduler = SchedulerEmulator(aws, "hat-dev", app=app, clock=clock)
    clock.advance(minutes=10)  # crons at +15 and +20 min: stuck runs 20 min > 15; fresh 10
    assert scheduler.tick() >= 1
    assert "reap_stuck_runs" in [name for name, _ in scheduler.fired]
    views = {i: alice.get(f"/reports/{i}").body for i in (stuck, fresh, never_started)}
    assert views[stuck]["status"] == "error" and "did not finish within 900 s" in views[stuck]["error"]
    assert views[fresh]["status"] == "running"
    assert views[never_started]["status"] == "queued"

    clock.advance(hours=3)
    scheduler.tick()
    assert alice.get(f"/reports/{fresh}").body["status"] == "error"
    late = alice.get(f"/reports/{never_started}").body
    assert late["status"] == "error" and "did not start" in late["error"]

    # the worker of the reaped report wakes up and tries to finish: dropped, still error
    report = Report.get(stuck)
    report.status = "running"
    worker._execute(report, lambda docs, **kw: {"tests_run": 1, "successes": 1, "failures": 0,
                                                 "duration_ms": 5, "testcases": []}, clock, None)
    assert alice.get(f"/reports/{stuck}").body["status"] == "error"
    assert not list(Report.active_reports.query("running"))
    assert not list(Report.active_reports.query("queued"))


def test_an_engine_that_fails_ends_the_run_in_error_naming_the_part(alice, target):
    from chalicelib.core.clock import utcnow

    shop = alice.shop(target.url)
    report_id = alice.post(f"/projects/{shop['project']['id']}/runs").body["report_id"]

    def broken_engine(documents, **options):
        raise RuntimeError("engine exploded")

    worker.handle_run(report_id, runner=broken_engine, clock=utcnow, budget_seconds=None)
    report = alice.get(f"/reports/{report_id}").body
    assert report["status"] == "error"
    assert report["error"] == "the run could not complete: engine exploded"
    assert not target.hits  # nothing was sent
