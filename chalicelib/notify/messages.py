"""What a finished report says to people: the SMS line and the email (plain text + HTML).

Pure functions of the report's summary and its detail (as stored in S3). Everything a user
chose (project, module, test case and step names, errors, expected/actual values) is
bounded in length, stripped of control and bidirectional-override characters (no header
tricks, no text that reads backwards) and escaped in HTML, so a message can only ever
carry a short, inert excerpt of it: it reaches only members and confirmed recipients
(chalicelib/notify/recipients.py), and never more than 20 failing steps of it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from chalicelib.core.clock import isoformat
from chalicelib.runner.report import check_line, failed_checks

SMS_MAX_CHARS = 160
MAX_FAILING_STEPS = 20
MAX_VALUE_CHARS = 200
MAX_NAME_CHARS = 80  # a name in a subject, a heading or a step line
MAX_ERROR_CHARS = 300
# C0/C1 controls, and the Unicode format characters that reorder or hide text
# (bidi embeddings/overrides/isolates, zero-width joiners, BOM).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")
_COLOURS = {"passed": "#1a7f37", "degraded": "#bf8700", "failed": "#cf222e", "error": "#9a6700"}


@dataclass(frozen=True)
class FailedCheck:
    comparator: str
    check: str
    expected: str
    actual: str


@dataclass(frozen=True)
class FailingStep:
    testcase: str
    step: str
    error: str | None
    checks: tuple[FailedCheck, ...]


def inert(value: Any, limit: int) -> str:
    """A user's text as a message may show it: unsafe characters become one space, then at
    most `limit` characters (the input is cut first, so the regex sees a bounded string)."""
    text = _UNSAFE.sub(" ", str(value)[:limit + 1]).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _shown(value: Any) -> str:
    return inert(repr(value), MAX_VALUE_CHARS)


def failing(detail: Mapping | None, limit: int = MAX_FAILING_STEPS) -> Iterator[FailingStep]:
    """The first `limit` failed steps of a report's detail (skipped steps are not failures)."""
    found = 0
    for case in (detail or {}).get("testcases", []):
        if case.get("success"):
            continue
        for step in case.get("steps", []):
            if step.get("success") or step.get("skipped"):
                continue
            checks = tuple(
                FailedCheck(inert(v.get("comparator"), MAX_NAME_CHARS), inert(v.get("check"), MAX_NAME_CHARS),
                            _shown(v.get("expected")), _shown(v.get("actual")))
                for v in failed_checks(step))
            error = step.get("error")
            yield FailingStep(inert(case.get("name"), MAX_NAME_CHARS),
                              inert(step.get("name"), MAX_NAME_CHARS),
                              inert(error, MAX_ERROR_CHARS) if error else None, checks)
            found += 1
            if found >= limit:
                return


def failing_steps(detail: Mapping | None, limit: int = MAX_FAILING_STEPS) -> list[str]:
    """The failed steps as text lines, with each failed validator's expected and actual."""
    lines = []
    for step in failing(detail, limit):
        line = f"- {step.testcase} / {step.step}" + (f": {step.error}" if step.error else "")
        for c in step.checks:
            line += f"\n    {check_line(c.comparator, c.check, c.expected, c.actual)}"
        lines.append(line)
    return lines


def headline(report: Any, recovered: bool) -> str:
    word = "FIXED" if recovered else report.status.upper()
    passed, run = int(report.successes or 0), int(report.tests_run or 0)
    return f"{inert(report.name or 'run', MAX_NAME_CHARS)}: {word} ({passed}/{run} passed)"


def sms_text(report: Any, *, recovered: bool = False) -> str:
    return f"hat: {headline(report, recovered)}"[:SMS_MAX_CHARS]


def _facts(report: Any) -> list[tuple[str, str]]:
    facts = [("Report", f"{report.id} ({report.trigger})"), ("Status", report.status),
             ("Test cases", f"{int(report.tests_run or 0)}, passed {int(report.successes or 0)}, "
                            f"failed {int(report.failures or 0)}"),
             ("Finished", isoformat(report.finished_at) if report.finished_at else "-")]
    if report.error:
        facts.append(("Error", inert(report.error, MAX_ERROR_CHARS)))
    return facts


RECOVERED_NOTE = "The previous run had failed; this one passed."
UNSUBSCRIBE_NOTE = "You get this because a member of the project named you. Stop these alerts:"


def email_text(report: Any, detail: Mapping | None, *, recovered: bool = False,
               unsubscribe_url: str | None = None) -> tuple[str, str]:
    """(subject, plain-text body); the recipient's own unsubscribe link last."""
    lines = [f"{name}: {value}" for name, value in _facts(report)]
    steps = failing_steps(detail)
    if steps:
        lines += ["", "Failing steps:", *steps]
    if recovered:
        lines += ["", RECOVERED_NOTE]
    if unsubscribe_url:
        lines += ["", "--", UNSUBSCRIBE_NOTE, unsubscribe_url]
    return f"[hat] {headline(report, recovered)}", "\n".join(lines)


def email_html(report: Any, detail: Mapping | None, *, recovered: bool = False,
               unsubscribe_url: str | None = None) -> str:
    """The same summary as an HTML document (inline styles: mail clients drop <style>)."""
    colour = _COLOURS.get("passed" if recovered else report.status, "#57606a")
    rows = "".join(f'<tr><th align="left" style="padding:2px 12px 2px 0">{escape(name)}</th>'
                   f"<td>{escape(str(value))}</td></tr>" for name, value in _facts(report))
    parts = [
        '<!DOCTYPE html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif">',
        f'<h2 style="color:{colour};margin:0 0 12px">{escape(headline(report, recovered))}</h2>',
        f"<table>{rows}</table>",
    ]
    steps = list(failing(detail))
    if steps:
        parts.append('<h3 style="margin:16px 0 8px">Failing steps</h3><ul>')
        for step in steps:
            item = f"<li><b>{escape(step.testcase)}</b> / {escape(step.step)}"
            if step.error:
                item += f": <code>{escape(str(step.error))}</code>"
            if step.checks:
                item += "<ul>" + "".join(
                    f"<li><code>{escape(c.comparator)} {escape(c.check)}</code>: expected "
                    f"<code>{escape(c.expected)}</code>, actual <code>{escape(c.actual)}</code></li>"
                    for c in step.checks) + "</ul>"
            parts.append(item + "</li>")
        parts.append("</ul>")
    if recovered:
        parts.append(f"<p>{escape(RECOVERED_NOTE)}</p>")
    if unsubscribe_url:
        parts.append(f'<p style="color:#57606a;font-size:12px">{escape(UNSUBSCRIBE_NOTE)} '
                     f'<a href="{escape(unsubscribe_url)}">unsubscribe</a></p>')
    parts.append("</body></html>")
    return "".join(parts)
