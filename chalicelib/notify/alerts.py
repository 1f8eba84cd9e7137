"""Alert channels (issue 20, items 1 and 2): email, SMS, the signed webhook, and the incoming
webhooks of Slack, Microsoft Teams (Workflows), Feishu/Lark, DingTalk and WeCom.

A project holds the defaults, a task may override them (`alerts: [...]`, catalog/schemas.py).
Each channel is stored as given, with its signing secret sealed (catalog/alert_channels.py:
stored with the project, below the features that send; answers show only `has_secret`).
When a report finishes, the runs worker decides per channel whether it is due (`due`: when,
after N consecutive failures, a quiet window), records `queued` on the report and queues one
`alert` job per channel with a fixed id; the job sends under
`run_once(alert:<report>:<channel>)`, so a provider answering 500 then 200 gets one message
and a redelivered finish sends nothing twice; failures retry with
the jobs' backoff and every outcome is written on the report (`alerts`).

Chat messages go out through the runner, so the outbound guard (ssrf.py) applies to channel
URLs as to any run. Payloads follow each provider's documented format: Slack Block Kit, an
Adaptive Card in a Teams `message`, a Feishu interactive card (signed: timestamp and
base64 HMAC-SHA256 keyed by "<timestamp>\\n<secret>" over nothing), DingTalk markdown (signed:
`&timestamp=<ms>&sign=` base64 HMAC-SHA256 keyed by the secret over "<ms>\\n<secret>"), WeCom
markdown; the `webhook` type is the existing signed `run.finished` callback body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from chalicelib.catalog.alert_channels import unseal
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.settings import get_settings

MAX_FAILING_IN_CHAT = 5


# --- when: the policy ----------------------------------------------------------------------------


def due(
    channel: Mapping,
    *,
    status: str,
    previous: str | None,
    failures: int,
    previous_failures: int,
    last_alert_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether a finished report alerts on this channel. `failures`: consecutive failed reports
    of the stream including this one (0 when it passed); `previous_failures`: the streak this
    pass ended. A failure alerts from the N-th in a row on, at most once per quiet window;
    recovery (the first pass after an alerting streak) always tells."""
    when = set(channel.get("when") or ())
    after = int(channel.get("after_failures") or 1)
    if "always" in when:
        return True
    if status in ("failed", "error"):
        if "failure" not in when or failures < after:
            return False
        quiet = timedelta(minutes=int(channel.get("quiet_minutes") or 0))
        return last_alert_at is None or now - last_alert_at >= quiet or failures == after
    if status == "degraded" and "degraded" in when:
        return True
    # passed or degraded after an alerting streak: the recovery
    return "recovery" in when and previous in ("failed", "error") and previous_failures >= after


# --- what a message says ---------------------------------------------------------------------------


def report_link(report_id: str) -> str | None:
    base = get_settings().public_url.rstrip("/")
    return f"{base}/ui/reports/{report_id}" if base else None


def summary(
    report: Any, detail: Mapping | None, *, project_name: str, task_name: str | None, recovered: bool
) -> dict:
    """The facts every chat message carries; user text already bounded and inert."""
    from chalicelib.notify.messages import MAX_NAME_CHARS, failing, headline, inert

    steps = [
        {
            "testcase": s.testcase,
            "step": s.step,
            "error": s.error,
            "checks": [
                f"{c.comparator} {c.check}: expected {c.expected}, actual {c.actual}" for c in s.checks
            ],
        }
        for s in failing(detail, MAX_FAILING_IN_CHAT)
    ]
    return {
        "title": f"hat: {headline(report, recovered)}",
        "project": inert(project_name, MAX_NAME_CHARS),
        "task": inert(task_name, MAX_NAME_CHARS) if task_name else None,
        "status": "recovered" if recovered else report.status,
        "tests_run": int(report.tests_run or 0),
        "successes": int(report.successes or 0),
        "failures": int(report.failures or 0),
        "duration_ms": int(report.duration_ms or 0),
        "failing": steps,
        "link": report_link(report.id),
        "report_id": report.id,
    }


def _lines(facts: Mapping) -> list[str]:
    lines = [f"Project: {facts['project']}"] + ([f"Task: {facts['task']}"] if facts["task"] else [])
    lines.append(
        f"Status: {facts['status']} — {facts['successes']}/{facts['tests_run']} passed, "
        f"{facts['failures']} failed, {facts['duration_ms']} ms"
    )
    for step in facts["failing"]:
        lines.append(
            f"• {step['testcase']} / {step['step']}" + (f": {step['error']}" if step["error"] else "")
        )
        lines += [f"    {check}" for check in step["checks"]]
    return lines


def _markdown(facts: Mapping) -> str:
    """Markdown for DingTalk and WeCom: user text is put in code spans so it cannot format."""

    def code(text: Any) -> str:
        return "`" + str(text).replace("`", "'") + "`"

    lines = [f"### {code(facts['title'])}", f"- Project: {code(facts['project'])}"]
    if facts["task"]:
        lines.append(f"- Task: {code(facts['task'])}")
    lines.append(
        f"- Status: **{facts['status']}**, {facts['successes']}/{facts['tests_run']} passed, "
        f"{facts['failures']} failed, {facts['duration_ms']} ms"
    )
    for step in facts["failing"]:
        lines.append(
            f"- {code(step['testcase'] + ' / ' + step['step'])}"
            + (f": {code(step['error'])}" if step["error"] else "")
        )
        lines += [f"  - {code(check)}" for check in step["checks"]]
    if facts["link"]:
        lines.append(f"\n[Open the report]({facts['link']})")
    return "\n".join(lines)


def slack_payload(facts: Mapping) -> dict:
    """Block Kit: a header, the facts as mrkdwn sections, a button to the report; `text` is the
    notification fallback. Slack escapes &, < and > in text; we do the same."""

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": facts["title"][:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": esc("\n".join(_lines(facts)))[:3000]}},
    ]
    if facts["link"]:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "url": facts["link"],
                        "text": {"type": "plain_text", "text": "Open the report"},
                    }
                ],
            }
        )
    return {"text": facts["title"], "blocks": blocks}


def teams_payload(facts: Mapping) -> dict:
    """A Workflows ("Post to a channel when a webhook request is received") message: one
    Adaptive Card attachment."""
    body: list[dict] = [
        {"type": "TextBlock", "text": facts["title"], "weight": "Bolder", "size": "Medium", "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": "Project", "value": facts["project"]},
                *([{"title": "Task", "value": facts["task"]}] if facts["task"] else []),
                {"title": "Status", "value": facts["status"]},
                {"title": "Passed", "value": f"{facts['successes']}/{facts['tests_run']}"},
                {"title": "Duration", "value": f"{facts['duration_ms']} ms"},
            ],
        },
    ]
    body += [
        {"type": "TextBlock", "text": line, "wrap": True, "fontType": "Monospace"}
        for line in _lines(facts)[2 + bool(facts["task"]) :]
    ]
    card: dict = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if facts["link"]:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": facts["link"]}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def feishu_sign(timestamp: int, secret: str) -> str:
    """Feishu/Lark custom bot: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", message=b""))."""
    return base64.b64encode(
        hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    ).decode()


def feishu_payload(facts: Mapping, *, secret: str | None, timestamp: int) -> dict:
    """An interactive card (header + lark_md text + a button); with a secret, signed."""
    template = {"passed": "green", "recovered": "green", "degraded": "orange"}.get(facts["status"], "red")
    elements: list[dict] = [
        {"tag": "div", "text": {"tag": "plain_text", "content": "\n".join(_lines(facts))}}
    ]
    if facts["link"]:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "type": "primary",
                        "url": facts["link"],
                        "text": {"tag": "plain_text", "content": "Open the report"},
                    }
                ],
            }
        )
    payload: dict = {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": template, "title": {"tag": "plain_text", "content": facts["title"]}},
            "elements": elements,
        },
    }
    if secret:
        payload = {"timestamp": str(timestamp), "sign": feishu_sign(timestamp, secret), **payload}
    return payload


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk robot: base64(HMAC-SHA256(key=secret, message="<ms>\\n<secret>")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dingtalk_payload(facts: Mapping) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": facts["title"][:100], "text": _markdown(facts)}}


def wecom_payload(facts: Mapping) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": _markdown(facts)[:4096]}}


def request_for(
    channel: Mapping,
    facts: Mapping,
    report_view: Mapping | None,
    *,
    webhook_secret: str | None,
    clock: Clock,
) -> tuple[str, dict[str, str], str, list[dict]]:
    """(url, headers, JSON body, the runner's checks of the answer) for one chat channel."""
    from chalicelib.core.signing import signed_headers

    url, kind, now = channel["target"], channel["type"], clock()
    secret = unseal(channel["secret_box"]) if channel.get("secret_box") else None
    headers = {"Content-Type": "application/json"}
    ok = [{"ge": ["status_code", 200]}, {"lt": ["status_code", 300]}]
    if kind == "slack":
        payload = slack_payload(facts)
    elif kind == "teams":
        payload = teams_payload(facts)
    elif kind == "feishu":
        payload = feishu_payload(facts, secret=secret, timestamp=int(now.timestamp()))
        ok.append({"eq": ["body.code", 0]})
    elif kind == "dingtalk":
        payload = dingtalk_payload(facts)
        if secret:
            stamp = int(now.timestamp() * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={dingtalk_sign(stamp, secret)}"
        ok.append({"eq": ["body.errcode", 0]})
    elif kind == "wecom":
        payload = wecom_payload(facts)
        ok.append({"eq": ["body.errcode", 0]})
    else:  # the signed run.finished callback, as the project's callback_url gets it
        payload = {
            "event": "run.finished" if report_view else "alert.test",
            "report": dict(report_view or {"id": facts["report_id"], "status": facts["status"]}),
        }
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if kind == "webhook" and webhook_secret:
        headers = signed_headers(webhook_secret, body.encode(), clock=clock)
    return url, headers, body, ok


class AlertFailed(Exception):
    """The channel did not take the message (or could not be reached): retried via the queue."""


def post(
    url: str, headers: Mapping[str, str], body: str, checks: list[dict], runner: Callable[..., dict]
) -> int:
    """POST through the runner (the outbound guard, no redirects, a deadline); the status code,
    or AlertFailed with what went wrong."""
    from chalicelib.core.settings import outbound_allow

    document = {
        "config": {"name": "alert"},
        "teststeps": [
            {
                "name": "alert",
                "validate": checks,
                "request": {
                    "method": "POST",
                    "url": url.replace("$", "$$"),
                    "headers": dict(headers),
                    "data": body.replace("$", "$$"),
                    "allow_redirects": False,
                    "timeout": 10,
                },
            }
        ],
    }
    result = runner([document], concurrency=1, outbound_allow=outbound_allow(), deadline_seconds=20)
    step = ((result.get("testcases") or [{}])[0].get("steps") or [{}])[0]
    if not result.get("successes"):
        failed = [v for v in step.get("validators", []) if v.get("result") not in ("pass", True)]
        reason = step.get("error") or (
            f"{failed[0].get('check')} was {failed[0].get('actual')!r}"
            if failed
            else f"status {step.get('status_code')}"
        )
        raise AlertFailed(str(reason)[:300])
    return int(step.get("status_code") or 0)


# --- "send a test message" ------------------------------------------------------------------------

TEST_TITLE = "hat: a test message from this alert channel"


def send_test(
    user: User,
    project_id: str,
    alert_id: str,
    *,
    runner: Callable[..., dict],
    clock: Clock,
) -> dict:
    """POST /projects/{id}/alerts/{alert_id}/test: a chat channel gets a test message now (through
    the runner, the outbound guard); an email or SMS channel gets one queued, if its address may
    receive the project's messages (recipients' rules, daily limit). Auth + GetItem (project),
    and for email/SMS one BatchGetItem and the daily counter's UpdateItem."""
    from chalicelib.catalog.access import load_project
    from chalicelib.core.errors import NotFound

    project = load_project(user, project_id)
    channel = next((c for c in project.alerts or [] if c["id"] == alert_id), None)
    if channel is None:
        raise NotFound("no such alert channel in this project", code="alert_not_found")
    answer = {"alert_id": alert_id, "type": channel["type"]}
    if channel["type"] in ("email", "sms"):
        return {**answer, **_queue_test_message(project.id, channel, clock)}
    from chalicelib.core.signing import webhook_secret

    facts = {
        "title": TEST_TITLE,
        "project": project.name,
        "task": None,
        "status": "test",
        "tests_run": 0,
        "successes": 0,
        "failures": 0,
        "duration_ms": 0,
        "failing": [],
        "link": None,
        "report_id": None,
    }
    secret = webhook_secret(project.id, project.webhook_salt) if project.webhook_salt else None
    url, headers, body, checks = request_for(channel, facts, None, webhook_secret=secret, clock=clock)
    try:
        return {**answer, "outcome": "delivered", "status_code": post(url, headers, body, checks, runner)}
    except AlertFailed as failure:
        return {**answer, "outcome": "failed", "error": str(failure)}


def _queue_test_message(project_id: str, channel: Mapping, clock: Clock) -> dict:
    from chalicelib.core.jobs import enqueue
    from chalicelib.notify.recipients import DAILY_LIMIT, resolve, take_daily_messages, unsubscribe_headers

    field = "emails" if channel["type"] == "email" else "mobiles"
    targets, skipped = resolve(project_id, {field: [channel["target"]]}, clock=clock)
    if not targets:
        return {"outcome": skipped[0]["outcome"] if skipped else "removed"}
    if not take_daily_messages(project_id, 1, clock=clock):
        return {"outcome": DAILY_LIMIT}
    target = targets[0]
    job: dict = {"kind": "message", "to": target.address, "body": TEST_TITLE}
    if target.channel == "email":
        job.update(
            subject=TEST_TITLE,
            headers=unsubscribe_headers(target.unsubscribe_url),
            body=f"{TEST_TITLE}.\n\nStop these alerts: {target.unsubscribe_url}",
        )
    enqueue(target.channel, job)
    return {"outcome": "queued"}
