"""Every AWS call each Lambda function's code makes is allowed by its policy in infra/policies.yaml.

The emulator enforces no IAM, so a missing permission only shows on AWS. This drives one
representative flow through the real handlers (routes through Chalice's test client, the
queues through the local pollers as Lambda's event sources would, the crons invoked as
EventBridge would), records every call each function makes (tests/functional/deploy/
iam_coverage.py: attribution by the handler frames on the stack), and checks each
(function, IAM action, resource ARN) against the policies as IAM would. `-s` prints the table.
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from tests import support
from tests.functional.deploy import iam_coverage
from tests.functional.messaging import FROM_NUMBER, PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN
from tests.functional.runs import conftest as runs_conftest

PASSWORD = "correct horse battery"
target = runs_conftest.target  # the API under test, on loopback (a fixture)


@pytest.fixture
def recorder(app, aws, monkeypatch):
    from chalicelib.core import aws as core_aws

    recording = iam_coverage.Recorder(app)
    monkeypatch.setattr(core_aws, "_queue_urls", iam_coverage.PerFunctionCache(recording.current_function))
    unhook = support.hook_clients(monkeypatch, recording, event="before-parameter-build")
    yield recording
    unhook()


def _post(client, path: str, body: dict, headers: dict | None = None):
    return client.http.post(path, headers={"Content-Type": "application/json", **(headers or {})},
                            body=json.dumps(body))


def _signup(client, notify, username: str, **contact: str) -> support.Api:
    """Register through the routes with a code the sms/email job sent (to the mobile if given),
    then log in."""
    destination = contact.get("mobile") or contact["email"]
    asked = _post(client, "/auth/codes", {"channel": "sms" if "mobile" in contact else "email",
                                          "destination": destination, "purpose": "register"})
    assert asked.status_code == 202, asked.body
    code = notify.last_code(destination)
    made = _post(client, "/auth/register", {"username": username, "password": PASSWORD, "code": code,
                                            **contact})
    assert made.status_code == 201, made.body
    assert _post(client, "/auth/login", {"account": username, "password": "not it"}).status_code == 401
    login = _post(client, "/auth/login", {"account": destination, "password": PASSWORD, "remember": True})
    assert login.status_code == 200, login.body
    answer = json.loads(login.body)
    return support.Api(client, _SignedIn(answer["user"], answer["token"]))


class _SignedIn:
    def __init__(self, user: dict, token: str) -> None:
        self.user, self.token = user, token
        self.headers = {"Authorization": f"Bearer {token}"}


def _ok(answer: support.Answer, status: int = 200) -> object:
    assert answer.status == status, (answer.status, answer.body)
    return answer.body


def _poller(app, aws, name: str):
    from infra.local.pollers import pollers_for

    return next(p for p in pollers_for(app, aws("sqs"), "us-east-1") if p.name == name)


def _drain(poller, rounds: int = 60) -> int:
    delivered = 0
    for _ in range(rounds):
        got = poller.poll_once(wait_seconds=0)
        if not got:
            break
        delivered += got
    return delivered


def _cron(app, name: str, moment: datetime) -> None:
    """Invoke a `@app.schedule` handler with the event EventBridge sends."""
    from infra.local.lambda_context import LocalLambdaContext
    from infra.local.scheduler import scheduled_event

    app.handler_map[name](scheduled_event(name, moment, "us-east-1"), LocalLambdaContext(function_name=name))


def _hook(client, project_id: str, secret: str, body: dict):
    from chalicelib.core.signing import signature

    raw = json.dumps(body).encode()
    stamp = int(time.time())
    return client.http.post(f"/hooks/projects/{project_id}/runs", body=raw, headers={
        "Content-Type": "application/json", "X-Hat-Timestamp": str(stamp),
        "X-Hat-Signature": signature(secret, stamp, raw)})


def _twilio_status(client, aws) -> None:
    """Twilio's signed status callback for the last SMS sent (notify's route)."""
    from twilio.request_validator import RequestValidator

    record = aws("dynamodb").scan(TableName="hat-dev-deliveries", ConsistentRead=True)["Items"][0]
    job_id, sid = record["id"]["S"], record["provider_id"]["S"]
    form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered",
            "AccountSid": TWILIO_SID, "To": "+8613800138000", "From": FROM_NUMBER, "ApiVersion": "2010-04-01"}
    url = f"{PUBLIC_URL}/hooks/twilio/status?job={job_id}"
    signed = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    response = client.http.post(f"/hooks/twilio/status?job={job_id}", body=urlencode(form), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed})
    assert response.status_code == 204, response.body


def _flow(app, aws, client, notify, target, monkeypatch) -> None:  # noqa: PLR0915 - one story
    from chalicelib.accounts.service import SESSIONS_PER_TRANSACTION
    from chalicelib.accounts.sessions import create_session
    from chalicelib.catalog import cleanup
    from chalicelib.core.clock import utcnow
    from chalicelib.core.edge import Edge, use_edge
    from chalicelib.core.settings import reset_settings
    from chalicelib.runs import queueing, worker
    from chalicelib.runs.models import Report
    from chalicelib.schedules import reconcile
    from chalicelib.schedules.models import entry_attribute, index_key
    from infra.local.scheduler import SchedulerEmulator

    monkeypatch.setenv("HAT_RUN_CHUNK_SIZE", "2")
    reset_settings()
    runs = _poller(app, aws, "run_jobs")
    catalog = _poller(app, aws, "catalog_cleanup")

    # accounts: codes by email and SMS (the job handlers), register, login, me, Twilio's callback
    alice = _signup(client, notify, "alice", email="alice@example.com")
    notify.twilio.fail_next(1)  # the SMS job fails once: postponed (ChangeMessageVisibility), retried
    bob = _signup(client, notify, "bobby", email="bob@example.com", mobile="+8613800138000")
    _twilio_status(client, aws)
    _ok(alice.get("/auth/me"))
    _ok(alice.patch("/auth/me", {"timezone": "Asia/Shanghai"}))

    # catalog: a project (its default environment is the target), members, modules, test cases
    project = _ok(alice.post("/projects", {"name": "shop", "environments": {
        "default": {"base_url": target.url, "variables": {}, "secrets": {"token": "coverage-secret"}}}}), 201)
    pid = project["id"]
    _ok(alice.patch(f"/projects/{pid}", {"environments": {"default": {  # opens the project's data key
        "base_url": target.url, "secrets": {"other": "another-secret"}}}}))
    _ok(alice.get("/projects"))
    _ok(alice.get(f"/projects/{pid}"))
    _ok(alice.patch(f"/projects/{pid}", {"notify": {"emails": ["team@example.com"], "mobiles": [],
                                                    "when": "always"}}))
    _ok(alice.post(f"/projects/{pid}/members", {"username": "bobby"}), 201)
    _ok(alice.get(f"/projects/{pid}/members"))
    module = _ok(alice.post(f"/projects/{pid}/modules", {"name": "orders"}), 201)
    mid = module["id"]
    spare = _ok(alice.post(f"/projects/{pid}/modules", {"name": "spare"}), 201)
    _ok(alice.get(f"/projects/{pid}/modules"))
    _ok(alice.get(f"/modules/{mid}"))
    _ok(alice.patch(f"/modules/{mid}", {"name": "orders2"}))
    cases = [_ok(bob.post(f"/modules/{mid}/testcases", {"testcase": runs_conftest.case(f"c{i}")}), 201)
             for i in range(3)]
    cases.append(_ok(alice.post(f"/modules/{mid}/testcases/import?name=bad",
                                raw=json.dumps(runs_conftest.case("bad", status=500))), 201))
    tid = cases[0]["id"]
    _ok(alice.get(f"/modules/{mid}/testcases"))
    _ok(alice.get(f"/testcases/{tid}"))
    _ok(alice.put(f"/testcases/{tid}", {"testcase": runs_conftest.case("c0", steps=2)}))
    gone = _ok(alice.post(f"/modules/{spare['id']}/testcases", {"testcase": runs_conftest.case("x")}), 201)
    _ok(alice.delete(f"/testcases/{gone['id']}"), 204)

    # runs: a chunked project run with a failing callback first and SMS + email recipients,
    # a module run, a test case run; then the notifications go out through their jobs
    target.hook_status[0] = 503
    first = _ok(alice.post(f"/projects/{pid}/runs", {
        "callback_url": f"{target.url}/hook",
        "notify": {"emails": ["ops@example.com"], "mobiles": ["+8613800138001"], "when": "always"}}), 202)
    _ok(bob.post(f"/modules/{mid}/runs", {}), 202)
    _ok(alice.post(f"/testcases/{tid}/runs", {}), 202)
    _drain(runs, rounds=8)
    target.hook_status[0] = 200
    _drain(runs)
    assert len(target.received) >= 2  # the callback failed once, then was delivered
    report = _ok(alice.get(f"/reports/{first['report_id']}"))
    assert report["chunks"]["total"] == 2 and report["status"] == "failed", report
    assert notify.deliver() >= 3
    _ok(alice.post("/testcases/debug", {"project_id": pid, "testcase": runs_conftest.case("inline")}))
    _ok(alice.get(f"/projects/{pid}/reports"))
    junit = alice.client.http.get(f"/reports/{first['report_id']}/junit", headers=alice.who.headers)
    assert junit.status_code == 200
    _ok(alice.get("/dashboard"))
    _ok(alice.get(f"/reports/{'0' * 32}"), 404)

    # sandbox: a debugtalk.py saved (its Lambda function made, then updated), a run needing
    # it (Invoke: the emulator runs no code, so the steps say the sandbox gave no report)
    monkeypatch.setenv("HAT_SANDBOX_BACKEND", "lambda")
    monkeypatch.setenv("HAT_SANDBOX_ROLE_ARN", aws("iam").get_role(RoleName="hat-dev-sandbox")["Role"]["Arn"])
    monkeypatch.setenv("HAT_SANDBOX_LAYER_ARN", aws("lambda").publish_layer_version(
        LayerName="hat-dev-runner", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18})["LayerVersionArn"])
    reset_settings()
    for version in (1, 2):
        _ok(alice.call("PUT", f"/projects/{pid}/debugtalk", raw=f"def v():\n    return {version}\n",
                       content_type="text/x-python"))
    _ok(alice.get(f"/projects/{pid}/debugtalk"))
    _drain(runs)  # the "sandbox" jobs: the function made, then updated
    user_code = runs_conftest.case("user code")
    user_code["teststeps"][0]["variables"] = {"n": "${v()}"}
    user_case = _ok(alice.post(f"/modules/{mid}/testcases", {"testcase": user_code}), 201)
    _ok(alice.post(f"/testcases/{user_case['id']}/runs", {}), 202)
    _drain(runs)
    notify.deliver()

    # the CI webhook with a rotated secret
    secret = _ok(alice.post(f"/projects/{pid}/webhook-secret"), 201)["secret"]
    hooked = _hook(client, pid, secret, {"module_ids": [mid]})
    assert hooked.status_code == 202, hooked.body
    _drain(runs)
    notify.deliver()

    # tasks: create, list, read, change, run now, a firing through the runs queue, delete
    task = _ok(alice.post("/tasks", {"name": "nightly", "project_id": pid, "crontab": "30 9 * * *",
                                     "timezone": "Asia/Shanghai", "module_ids": [mid]}), 201)
    other = _ok(alice.post("/tasks", {"name": "weekly", "project_id": pid, "crontab": "0 0 13 * 5"}), 201)
    _ok(alice.get("/tasks"))
    _ok(alice.get(f"/tasks?project_id={pid}"))
    _ok(alice.get(f"/tasks/{task['id']}"))
    _ok(alice.patch(f"/tasks/{task['id']}", {"enabled": False}))
    _ok(alice.patch(f"/tasks/{task['id']}", {"enabled": True, "crontab": "30 9 * * *"}))
    _ok(alice.post(f"/tasks/{task['id']}/runs", {}), 202)
    clock = support.FakeClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    emulator = SchedulerEmulator(aws, "hat-dev", clock=clock)
    clock.advance(minutes=30)
    assert emulator.tick() == 1
    _drain(runs)
    assert _ok(alice.get(f"/tasks/{task['id']}"))["run_count"] >= 1
    _ok(alice.delete(f"/tasks/{other['id']}"), 204)

    # crons, each invoked as EventBridge would, each with something to do:
    # a run stuck in `running` for the reaper
    stuck = queueing.start_run(pid, module_ids=None, environment=None, trigger="manual",
                               clock=utcnow)["report_id"]
    worker._mark_running(Report.get(stuck), datetime.now(UTC))
    _cron(app, "reap_stuck_runs", datetime.now(UTC) + timedelta(hours=4))
    assert _ok(alice.get(f"/reports/{stuck}"))["status"] == "error"
    _drain(runs)
    notify.deliver()
    # reconcile: a console pause, a lost schedule, an orphan, a task of a deleted project
    scheduler = aws("scheduler")
    held = scheduler.get_schedule(GroupName="hat-dev", Name=f"task-{task['id']}-0")
    scheduler.update_schedule(Name=held["Name"], GroupName="hat-dev",
                              ScheduleExpression=held["ScheduleExpression"],
                              ScheduleExpressionTimezone=held["ScheduleExpressionTimezone"],
                              FlexibleTimeWindow=held["FlexibleTimeWindow"], Target=held["Target"],
                              State="DISABLED")
    lost = _ok(alice.post("/tasks", {"name": "lost", "project_id": pid, "crontab": "0 1 * * *"}), 201)
    scheduler.delete_schedule(GroupName="hat-dev", Name=f"task-{lost['id']}-0")
    aws("dynamodb").update_item(  # and its entry in the project's task index (made before the index)
        TableName="hat-dev-task-names", Key={"key": {"S": index_key(pid)}},
        UpdateExpression="REMOVE #e ADD task_count :m",
        ExpressionAttributeNames={"#e": entry_attribute(lost["id"])},
        ExpressionAttributeValues={":m": {"N": "-1"}})
    scheduler.create_schedule(Name=f"task-{'f' * 32}-0", GroupName="hat-dev",
                              ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=held["Target"])
    doomed = _ok(alice.post("/projects", {"name": "doomed"}), 201)
    _ok(alice.post("/tasks", {"name": "orphaned", "project_id": doomed["id"], "crontab": "0 2 * * *"}), 201)
    _ok(alice.delete(f"/projects/{doomed['id']}"), 204)
    # the cron hands reconcile the edge's clock: a quarter of an hour on, the orphan just made
    # is past its grace period
    soon = datetime.now(UTC) + reconcile.ORPHAN_GRACE + timedelta(minutes=5)
    with use_edge(Edge(clock=lambda: soon)):
        _cron(app, "tasks_reconcile", soon)
    assert _ok(alice.get(f"/tasks/{task['id']}"))["enabled"] is False
    assert lost["id"] in [t["id"] for t in _ok(alice.get("/tasks"))["items"]]  # indexed again
    # a delete whose cleanup job was lost, for the catalog reaper
    with monkeypatch.context() as patched:
        patched.setattr(cleanup, "enqueue_cleanup", lambda kind, item_id: None)
        _ok(alice.delete(f"/modules/{spare['id']}"), 204)
    later = datetime.now(UTC) + timedelta(hours=1)
    with use_edge(Edge(clock=lambda: later)):  # the cron hands the reaper the edge's clock
        _cron(app, "catalog_reaper", later)

    # password reset by a code to bob's email (his mobile had one within the minute);
    # members, and the cascade delete through the catalog queue
    asked = _post(client, "/auth/codes", {"channel": "email", "destination": "bob@example.com",
                                          "purpose": "reset"})
    assert asked.status_code == 202, asked.body
    code = notify.last_code("bob@example.com")
    for _ in range(SESSIONS_PER_TRANSACTION + 1):  # more sessions than the reset's transaction holds
        create_session(bob.user, clock=utcnow)
    reset = _post(client, "/auth/password/reset", {"account": "bobby", "code": code,
                                                    "new_password": "a brand new secret"})
    assert reset.status_code == 204, reset.body
    _ok(alice.call("DELETE", f"/projects/{pid}/debugtalk"), 204)
    _drain(runs)  # the "sandbox" job removes the project's function
    _ok(alice.call("DELETE", f"/projects/{pid}/members?username=bobby"), 204)
    _ok(alice.delete(f"/modules/{mid}"), 204)
    _ok(alice.delete(f"/projects/{pid}"), 204)
    assert _drain(catalog) >= 2
    _ok(alice.post("/auth/logout"), 204)

    # email through SES (HAT_EMAIL_BACKEND=ses) rather than SMTP
    monkeypatch.setenv("HAT_EMAIL_BACKEND", "ses")
    reset_settings()
    aws("ses").verify_email_identity(EmailAddress="hat@example.com")
    asked = _post(client, "/auth/codes", {"channel": "email", "destination": "carol@example.com",
                                          "purpose": "register"})
    assert asked.status_code == 202, asked.body
    assert notify.deliver() == 1


def test_every_call_each_function_makes_is_allowed_by_its_policy(app, aws, client, notify, target,
                                                                 monkeypatch, recorder):
    _flow(app, aws, client, notify, target, monkeypatch)
    recorder_uses = set(recorder.uses)
    # Lambda's SQS event source receives and deletes with the function's own role.
    for function, queue in iam_coverage.sqs_event_sources(app).items():
        for action in iam_coverage.EVENT_SOURCE_SQS_ACTIONS:
            recorder_uses.add(iam_coverage.Use(function, action, iam_coverage.queue_arn(queue),
                                               "event source"))

    resources = iam_coverage.Resources("dev")
    policies = iam_coverage.Policies(resources)
    print("\n" + iam_coverage.table(recorder_uses, resources, policies))

    functions = iam_coverage.functions_of(app)
    assert functions - set(policies.raw) == set(), "functions with no entry in infra/policies.yaml"
    seen = {use.function for use in recorder_uses}
    assert seen == functions, f"the flow never reached {sorted(functions - seen)}"
    denied = sorted(f"{u.function}: {u.action} on {resources.show(u.arn)} ({u.via})"
                    for u in recorder_uses if not policies.allows(u.function, u.action, u.arn))
    assert denied == [], "infra/policies.yaml lacks:\n" + "\n".join(denied)


def test_the_checker_itself():
    """The mapping of calls to IAM checks, and the policy matching, on known cases."""
    resources = iam_coverage.Resources("dev")
    policies = iam_coverage.Policies(resources)
    tasks = iam_coverage.table_arn("hat-dev-tasks")
    checks = list(iam_coverage.iam_checks("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "hat-dev-tasks"}}, {"ConditionCheck": {"TableName": "hat-dev-projects"}}]}))
    assert checks == [("dynamodb:PutItem", tasks),
                      ("dynamodb:ConditionCheckItem", iam_coverage.table_arn("hat-dev-projects"))]
    assert list(iam_coverage.iam_checks("dynamodb", "Query", {"TableName": "hat-dev-tasks",
                                                              "IndexName": "by-project"})) == [
        ("dynamodb:Query", tasks + "/index/by-project")]
    assert policies.allows("APIHandler", "dynamodb:Query", tasks + "/index/by-project")
    assert not policies.allows("APIHandler", "dynamodb:Scan", tasks)
    assert not policies.allows("CatalogReaper", "dynamodb:Query", iam_coverage.table_arn("hat-dev-projects"))
    assert policies.allows("TasksReconcile", "scheduler:ListSchedules", "*")
    schedule = "arn:aws:scheduler:us-east-1:123456789012:schedule/hat-dev/task-abc-0"
    assert policies.allows("APIHandler", "scheduler:CreateSchedule", schedule)
    other_stage = schedule.replace("hat-dev", "hat-prod")
    assert not policies.allows("APIHandler", "scheduler:CreateSchedule", other_stage)
    assert policies.allows("RunJobs", "s3:PutObject", resources.arns["ReportsBucket"] + "/reports/x.json.gz")
    assert not policies.allows("APIHandler", "s3:PutObject", resources.arns["ReportsBucket"] + "/x")
    assert resources.show(tasks + "/index/by-project") == "TasksTable/index/by-project"
