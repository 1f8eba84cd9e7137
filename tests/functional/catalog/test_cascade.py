"""Cascade deletes: hidden at once, counts fixed at once, children removed by a queued job that
crashes and retries can only finish, never corrupt."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.catalog import cleanup
from chalicelib.catalog.cleanup import NotReady, run_job
from chalicelib.core.clock import utcnow

TABLES = ("projects", "memberships", "modules", "testcases", "catalog-names")


def contents(aws) -> dict[str, int]:
    """How many items each catalog table holds (test-side inspection; no route scans)."""
    ddb = aws("dynamodb")
    return {t: ddb.scan(TableName=f"hat-dev-{t}", ConsistentRead=True, Select="COUNT")["Count"]
            for t in TABLES}


def queued(aws) -> int:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="hat-dev-catalog")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.fixture
def shop(alice, bob):
    """A project (alice owns, bob is a member) with 3 modules of 5, 3 and 0 test cases."""
    project = alice.project("Shop")
    alice.post(f"/projects/{project['id']}/members", {"username": "bobby"})
    modules = [alice.module(project["id"], name) for name in ("orders", "payments", "empty")]
    cases = {m["id"]: [alice.testcase(m["id"], f"case {i}") for i in range(n)]
             for m, n in zip(modules, (5, 3, 0), strict=True)}
    return project, modules, cases


def test_deleting_a_module_hides_it_fixes_counts_and_the_job_removes_its_test_cases(alice, shop, aws,
                                                                                    run_cleanup):
    project, (orders, payments, _empty), cases = shop
    before = contents(aws)
    assert alice.delete(f"/modules/{orders['id']}").status == 204
    # at once: hidden, counted out, its name free
    assert alice.get(f"/modules/{orders['id']}").status == 404
    assert alice.get(f"/modules/{orders['id']}/testcases").status == 404
    assert all(alice.get(f"/testcases/{c['id']}").status == 404 for c in cases[orders["id"]])
    listed = alice.get(f"/projects/{project['id']}/modules").body["items"]
    assert orders["id"] not in [m["id"] for m in listed]
    counts = alice.get(f"/projects/{project['id']}").body
    assert (counts["module_count"], counts["testcase_count"]) == (2, 3)
    assert alice.post(f"/projects/{project['id']}/modules", {"name": "orders"}).status == 201
    assert alice.delete(f"/modules/{orders['id']}").status == 204  # a retry queues the job again: harmless
    # then the job
    assert run_cleanup() >= 1
    after = contents(aws)
    assert after["testcases"] == before["testcases"] - 5
    assert after["modules"] == before["modules"]  # orders gone, the new "orders" module in
    assert after["catalog-names"] == before["catalog-names"] - 5  # 5 case names; module name reused
    assert alice.get(f"/testcases/{cases[payments['id']][0]['id']}").status == 200


def test_deleting_a_project_removes_everything_under_it(alice, bob, shop, aws, run_cleanup):
    project, modules, cases = shop
    keep = alice.project("Keep")
    alice.testcase(alice.module(keep["id"], "kept")["id"], "kept case")
    kept = contents(aws)
    assert alice.delete(f"/projects/{project['id']}").status == 204
    for user in (alice, bob):
        assert project["id"] not in [p["id"] for p in user.get("/projects").body["items"]]
        assert user.get(f"/projects/{project['id']}/modules").status == 404
        assert all(user.get(f"/modules/{m['id']}").status == 404 for m in modules)
        assert all(user.get(f"/testcases/{c['id']}").status == 404 for cs in cases.values() for c in cs)
    assert alice.post("/projects", {"name": "shop"}).status == 201  # the name is free at once
    run_cleanup()
    left = contents(aws)
    assert left == {"projects": 2, "memberships": 2, "modules": 1, "testcases": 1, "catalog-names": 4}
    assert kept["testcases"] - left["testcases"] == 8


def test_a_crash_midway_leaves_a_job_that_a_retry_finishes(alice, shop, aws, monkeypatch):
    project, modules, _cases = shop
    assert alice.delete(f"/projects/{project['id']}").status == 204
    real = cleanup.delete_counted
    calls = []

    def crash_on_second_batch(testcases, module_id):
        calls.append(module_id)
        if len(calls) == 2:
            raise ConnectionError("the Lambda died here")
        return real(testcases, module_id)

    monkeypatch.setattr(cleanup, "delete_counted", crash_on_second_batch)
    with pytest.raises(ConnectionError):
        run_job({"kind": "project", "id": project["id"]})
    midway = contents(aws)
    assert 0 < midway["testcases"] < 8 and midway["projects"] == 1  # partly done, parent still marked
    assert alice.get(f"/projects/{project['id']}").status == 404  # and still hidden
    monkeypatch.setattr(cleanup, "delete_counted", real)
    assert run_job({"kind": "project", "id": project["id"]}) is True  # the redelivery
    assert contents(aws) == dict.fromkeys(TABLES, 0)
    assert run_job({"kind": "project", "id": project["id"]}) is True  # and again: nothing to do


def test_a_crash_before_the_job_is_queued_is_finished_by_a_retry_or_the_reaper(alice, shop, aws, monkeypatch,
                                                                             run_cleanup):
    project, (orders, _payments, _empty), _cases = shop

    def sqs_down(kind, item_id):
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(cleanup, "enqueue_cleanup", sqs_down)
    assert alice.delete(f"/modules/{orders['id']}").status == 204  # marked; the queue missed it
    assert alice.delete(f"/projects/{project['id']}").status == 204
    monkeypatch.undo()
    assert queued(aws) == 0 and run_cleanup() == 0
    # the client retries the delete: the job is queued again
    assert alice.delete(f"/projects/{project['id']}").status == 204
    assert queued(aws) == 1
    # the reaper queues whatever stayed marked for a while (here: the module)
    assert cleanup.reap(clock=utcnow) == 0  # too recent
    assert cleanup.reap(clock=lambda: utcnow() + timedelta(minutes=10)) == 2
    run_cleanup()
    assert contents(aws) == dict.fromkeys(TABLES, 0)


def test_a_long_cleanup_continues_in_a_follow_up_job(alice, shop, aws, run_cleanup):
    project, _modules, _cases = shop
    alice.delete(f"/projects/{project['id']}")
    assert run_job({"kind": "project", "id": project["id"]}, budget=1) is False
    assert contents(aws)["projects"] == 1
    run_cleanup()  # the original job and the follow-up
    assert contents(aws) == dict.fromkeys(TABLES, 0)


def test_the_job_never_deletes_a_parent_its_count_says_is_not_empty(alice, shop, aws):
    """If the index has not caught up (here: a count says one more test case exists), the job
    fails and is retried later rather than orphaning a test case."""
    from chalicelib.catalog.models import Module

    project, (orders, _payments, _empty), _cases = shop
    alice.delete(f"/modules/{orders['id']}")
    Module(orders["id"]).update(actions=[Module.testcase_count.add(1)])
    with pytest.raises(NotReady):
        run_job({"kind": "module", "id": orders["id"]})
    assert Module.get(orders["id"]).status == "deleting"


def test_stale_or_unreadable_jobs_are_no_ops(alice, shop, aws):
    project, (orders, _payments, _empty), _cases = shop
    before = contents(aws)
    assert run_job({"kind": "module", "id": orders["id"]}) is True  # not being deleted: untouched
    assert run_job({"kind": "project", "id": project["id"]}) is True
    assert run_job({"kind": "galaxy", "id": 1}) is True
    assert contents(aws) == before
