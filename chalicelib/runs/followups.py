"""After a report finishes, once whatever the redeliveries: history, the stream's outcome and
failure streak, messages to the named recipients, alert channels (notify/alerts.py) and the
outbound callback. Each effect runs under `core.jobs.run_once` or is queued with a fixed job
id, so a redelivered finish adds nothing."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.catalog.models import Project
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import condition_failed, get_many, get_or_none
from chalicelib.core.jobs import enqueue, run_once
from chalicelib.core.settings import outbound_allow
from chalicelib.runs import history, store
from chalicelib.runs.execution import Runner
from chalicelib.runs.models import (
    ERROR,
    FAILED,
    FINAL,
    PASSING,
    Report,
    RunSetting,
)
from chalicelib.runs.reading import report_view
from chalicelib.runs.webhooks import current_webhook_secrets

logger = logging.getLogger("hat.runs")


def after_finish(report: Report, *, clock: Clock) -> None:
    """Idempotent: the callback job has a fixed id and sends under run_once; notifications are
    decided once per report (run_once) and queued with fixed job ids."""
    if report.callback_url:
        enqueue("runs", {"kind": "callback", "report_id": report.id, "job_id": f"callback-{report.id}"})
    from chalicelib.runs.github import wants_status

    if wants_status(report.origin):
        enqueue("runs", {"kind": "github_status", "report_id": report.id,
                         "job_id": f"github-status-{report.id}"})
    run_once(f"notify:{report.id}", lambda: _notify_once(report, clock), clock=clock)
    run_once(f"history:{report.id}", lambda: _record_history(report), clock=clock)


def _record_history(report: Report) -> int:
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail else None
    return history.record(report, detail)


def _record_outcome(report: Report) -> tuple[str | None, int, int]:
    """Record this report as its stream's latest outcome and move its failure streak on;
    returns (the outcome before it, the streak with it, the streak before it)."""
    from pynamodb.exceptions import UpdateError

    key = f"outcome#{report.task_id or report.project_id}"
    setting = RunSetting(key)
    streak = (RunSetting.failures | 0) + 1 if report.status in (FAILED, ERROR) else 0
    try:
        setting.update(actions=[RunSetting.previous_status.set(RunSetting.last_status | "none"),
                                RunSetting.last_status.set(report.status),
                                RunSetting.previous_failures.set(RunSetting.failures | 0),
                                RunSetting.failures.set(streak),
                                RunSetting.last_report_id.set(report.id)],
                       condition=RunSetting.last_report_id.does_not_exist()
                       | (RunSetting.last_report_id != report.id))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        setting = RunSetting.get(key, consistent_read=True)  # recorded by an earlier try
    previous = setting.previous_status
    return (None if previous in (None, "none") else previous, int(setting.failures or 0),
            int(setting.previous_failures or 0))


def should_notify(when: str, status: str, previous: str | None) -> bool:
    failed = status not in PASSING
    recovered = status in PASSING and previous in (FAILED, ERROR)
    return when == "always" or (when == "failure" and (failed or recovered))


def _notify_once(report: Report, clock: Clock) -> int:
    """Decide once per report who hears of it: `notify` (members and confirmed recipients only,
    notify/recipients.py) and the alert channels that are due (notify/alerts.py)."""
    previous, failures, previous_failures = _record_outcome(report)
    notify = report.notify or {}
    named = notify.get("emails") or notify.get("mobiles") or notify.get("users")
    sent = 0
    if named and should_notify(notify.get("when", "never"), report.status, previous):
        outcomes, sent = _send_messages(report, notify, previous, clock)
        report.update(actions=[Report.notifications.set(outcomes)])
    _queue_alerts(report, previous, failures, previous_failures, clock)
    return sent


def _send_messages(report: Report, notify: Mapping, previous: str | None,
                   clock: Clock) -> tuple[list[dict], int]:
    """Email and SMS to the recipients `notify` names that may have them, within the project's
    daily limit: (each named recipient's outcome, masked; how many were queued)."""
    from chalicelib.notify.messages import email_html, email_text, sms_text
    from chalicelib.notify.recipients import (
        DAILY_LIMIT,
        QUEUED,
        resolve,
        take_daily_messages,
        unsubscribe_headers,
    )

    targets, outcomes = resolve(report.project_id, notify, clock=clock)
    allowed = take_daily_messages(report.project_id, len(targets), clock=clock)
    recovered = report.status in PASSING and previous in (FAILED, ERROR)
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail and targets else None
    sms = sms_text(report, recovered=recovered)
    for n, target in enumerate(targets):
        if n >= allowed:
            outcomes.append({"channel": target.channel, "to": target.shown, "outcome": DAILY_LIMIT})
            continue
        job = {"kind": "message", "to": target.address,
               "job_id": f"report-{report.id}-{target.channel}-{target.rid}"}
        if target.channel == "email":
            url = target.unsubscribe_url
            subject, body = email_text(report, detail, recovered=recovered, unsubscribe_url=url)
            job.update(subject=subject, body=body, headers=unsubscribe_headers(url),
                       html=email_html(report, detail, recovered=recovered, unsubscribe_url=url))
        else:
            job["body"] = sms
        enqueue(target.channel, job)
        outcomes.append({"channel": target.channel, "to": target.shown, "outcome": QUEUED})
    if allowed < len(targets):
        logger.warning("report %s: the project's daily message limit held back %d messages",
                       report.id, len(targets) - allowed)
    return outcomes, min(allowed, len(targets))


def _channels(report: Report) -> tuple[list[dict], Project | None, Any]:
    """The report's alert channels: its task's, if the task has any, else the project's."""
    from chalicelib.runs.extensions import task_model

    task_table = task_model()  # schedules' Task (registered in schedules/jobs.py)
    wanted = [(Project, report.project_id),
              (task_table, report.task_id) if report.task_id and task_table is not None else None]
    project, task = get_many(wanted)
    channels = (task.alerts if task is not None and task.alerts else None) or \
        (project.alerts if project is not None else None) or []
    return list(channels), project, task


def _queue_alerts(report: Report, previous: str | None, failures: int, previous_failures: int,
                  clock: Clock) -> None:
    """Once per report: each channel that is due (notify/alerts.py `due`) is written `queued` on
    the report and gets an `alert` job; a failure held back by its quiet window, `suppressed`."""
    from chalicelib.notify.alerts import due

    channels, _project, _task = _channels(report)
    if not channels:
        return
    now, outcomes, due_now = clock(), {}, []
    for channel in channels:
        key = f"alert#{report.task_id or report.project_id}#{channel['id']}"
        last = get_or_none(RunSetting, key, consistent_read=True)
        if not due(channel, status=report.status, previous=previous, failures=failures,
                   previous_failures=previous_failures, last_alert_at=last.last_alert_at if last else None,
                   now=now):
            if report.status in (FAILED, ERROR) and "failure" in (channel.get("when") or ()):
                outcomes[channel["id"]] = {"type": channel["type"], "outcome": "suppressed"}
            continue
        if report.status in (FAILED, ERROR):
            RunSetting(key).update(actions=[RunSetting.last_alert_at.set(now)])
        outcomes[channel["id"]] = {"type": channel["type"], "outcome": "queued"}
        due_now.append(channel["id"])
    if outcomes:
        report.update(actions=[Report.alerts.set(outcomes)])
    for alert_id in due_now:
        enqueue("runs", {"kind": "alert", "report_id": report.id, "alert_id": alert_id, "previous": previous,
                         "job_id": f"alert-{report.id}-{alert_id}"})


def handle_alert(report_id: str, alert_id: str, *, previous: str | None = None,
                 runner: Runner, clock: Clock) -> bool:
    """The runs queue's "alert" job: send one channel's message for one report, once."""
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None or report.status not in FINAL:
        return False
    channels, project, task = _channels(report)
    channel = next((c for c in channels if c["id"] == alert_id), None)
    if channel is None or project is None:
        _alert_outcome(report, alert_id, {"type": "unknown", "outcome": "removed"})
        return False
    ran, _ = run_once(f"alert:{report_id}:{alert_id}",
                      lambda: _send_alert(report, channel, project, task, previous, runner, clock),
                      clock=clock)
    return ran


def _alert_outcome(report: Report, alert_id: str, outcome: dict) -> None:
    report.update(actions=[Report.alerts[alert_id].set(outcome)])


def _send_alert(report: Report, channel: Mapping, project: Project, task: Any, previous: str | None,
                runner: Runner, clock: Clock) -> None:
    from chalicelib.notify.alerts import AlertFailed, post, request_for, summary

    outcome = {"type": channel["type"]}
    if channel["type"] in ("email", "sms"):  # the recipients' rules and the daily limit apply
        notify = {"emails" if channel["type"] == "email" else "mobiles": [channel["target"]]}
        sent, _count = _send_messages(report, notify, previous, clock)
        if sent:
            _alert_outcome(report, channel["id"],
                           {**outcome, "to": sent[0]["to"], "outcome": sent[0]["outcome"]})
        return
    detail = store.get_detail(store.detail_key(report.id)) if report.has_detail else None
    facts = summary(report, detail, project_name=project.name, task_name=task.name if task else None,
                    recovered=report.status in PASSING and previous in (FAILED, ERROR))
    secrets_now = current_webhook_secrets(project, clock=clock)
    signing = secrets_now[0] if secrets_now else None
    url, headers, body, checks = request_for(channel, facts, report_view(report), webhook_secret=signing,
                                             clock=clock)
    try:
        status = post(url, headers, body, checks, runner)
    except AlertFailed as failure:
        _alert_outcome(report, channel["id"], {**outcome, "outcome": "failed", "error": str(failure),
                                               "at": isoformat(clock())})
        raise
    _alert_outcome(report, channel["id"], {**outcome, "outcome": "delivered", "status_code": status,
                                           "at": isoformat(clock())})


class CallbackFailed(Exception):
    """The callback URL did not answer 2xx (or could not be reached): retried via the queue."""


def handle_callback(report_id: str, *, runner: Runner, clock: Clock) -> bool:
    report = get_or_none(Report, report_id, consistent_read=True)
    if report is None or report.status not in FINAL or not report.callback_url:
        return False
    ran, _ = run_once(f"callback:{report_id}", lambda: _post_callback(report, runner, clock), clock=clock)
    return ran


def _post_callback(report: Report, runner: Runner, clock: Clock) -> None:
    from chalicelib.core.signing import signed_headers

    body = json.dumps({"event": "run.finished", "report": report_view(report)}, separators=(",", ":"))
    secret = current_webhook_secrets(get_or_none(Project, report.project_id, consistent_read=True),
                                     clock=clock)
    headers = signed_headers(secret[0], body.encode(), clock=clock) if secret \
        else {"Content-Type": "application/json"}
    # The runner sends it: the same outbound guard (addresses, redirects, DNS) as any run.
    document = {"config": {"name": "callback"}, "teststeps": [{
        "name": "run.finished",
        "request": {"method": "POST", "url": report.callback_url, "headers": headers,
                    "data": body.replace("$", "$$"), "allow_redirects": False, "timeout": 10},
        "validate": [{"lt": ["status_code", 300]}, {"ge": ["status_code", 200]}]}]}
    result = runner([document], concurrency=1, outbound_allow=outbound_allow(), deadline_seconds=20)
    if not result.get("successes"):
        steps = (result.get("testcases") or [{}])[0].get("steps") or [{}]
        raise CallbackFailed(f"callback to {report.callback_url} failed: "
                             f"{steps[0].get('error') or steps[0].get('status_code')}")
