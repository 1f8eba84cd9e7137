"""Renderings of a run report (the dict ``engine.run_testcases`` returns)."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any

# characters XML 1.0 cannot carry even escaped; response bodies do contain them
_INVALID_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_JUNIT_DETAIL_CHARS = 4000


def _clean(text: Any) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _seconds(ms: Any) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _flatten(steps: list[Mapping[str, Any]], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    for step in steps:
        name = f"{prefix}{step.get('name', '')}"
        if step.get("steps"):
            # a referenced testcase: its steps appear under "step / substep"
            yield from _flatten(step["steps"], f"{name} / ")
            if step.get("error") and not step.get("skipped"):
                yield name, {**step, "steps": []}
        else:
            yield name, step


def timings(testcases: list[Mapping[str, Any]]) -> dict[str, float | None]:
    """A run's response times over every request that got an answer (referenced testcases'
    steps included): p50 and p95 by nearest rank, and the slowest."""
    times: list[float] = []
    for case in testcases:
        _answered_times(case.get("steps") or (), times)
    if not times:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    times.sort()

    def rank(share: float) -> float:
        return times[max(0, math.ceil(len(times) * share) - 1)]

    return {"p50_ms": rank(0.5), "p95_ms": rank(0.95), "max_ms": times[-1]}


def _answered_times(steps: Any, into: list[float]) -> None:
    # once per run over every step: a plain loop (no names built, unlike _flatten)
    for step in steps:
        nested = step.get("steps")
        if nested:
            _answered_times(nested, into)
        elif step.get("status_code") is not None:
            into.append(step["elapsed_ms"])


def failed_checks(step: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The step's validators that failed."""
    return [v for v in step.get("validators") or [] if v.get("result") == "fail"]


def check_line(comparator: str, check: str, expected: str, actual: str, message: str | None = None) -> str:
    """One failed check as every rendering shows it (the CLI, JUnit, alert messages), its parts
    already rendered by the caller: 'equal "status_code": expected 200, actual 500 (why)'."""
    line = f"{comparator} {check}: expected {expected}, actual {actual}"
    return f"{line} ({message})" if message else line


def failed_check_line(validator: Mapping[str, Any]) -> str:
    """check_line of a failed validator of a report, its values as JSON."""
    def shown(value: Any) -> str:
        return json.dumps(value, default=str)

    return check_line(str(validator.get("comparator")), shown(validator.get("check")),
                      shown(validator.get("expected")), shown(validator.get("actual")),
                      validator.get("message") or None)


def _failure_text(step: Mapping[str, Any]) -> str:
    lines = [failed_check_line(v) for v in failed_checks(step)]
    if step.get("error") and not any(str(step["error"]) in line for line in lines):
        lines.append(str(step["error"]))
    return "\n".join(lines)[:MAX_JUNIT_DETAIL_CHARS]


def to_junit_xml(report: Mapping[str, Any]) -> str:
    """JUnit XML for CI tools: one <testsuite> per testcase, one <testcase> per step.

    Validation failures are <failure>, steps that got no response (DNS, timeout, refused,
    SSRF guard, bad variable) are <error>, steps after a failure are <skipped>.
    """
    root = ET.Element("testsuites", name="hat")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for case in report.get("testcases") or []:
        suite = ET.SubElement(root, "testsuite", name=_clean(case.get("name", "")))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        steps = list(_flatten(case.get("steps") or []))
        if case.get("error"):
            steps.append(("(testcase)", {"error": case["error"], "success": False}))
        for name, step in steps:
            counts["tests"] += 1
            element = ET.SubElement(
                suite, "testcase", classname=_clean(case.get("name", "")), name=_clean(name),
                time=_seconds(step.get("elapsed_ms")),
            )
            if step.get("skipped"):
                counts["skipped"] += 1
                ET.SubElement(element, "skipped", message=_clean(step.get("error", "")))
            elif not step.get("success"):
                tag = "failure" if failed_checks(step) and not step.get("error") else "error"
                counts["failures" if tag == "failure" else "errors"] += 1
                detail = _failure_text(step)
                child = ET.SubElement(
                    element, tag, message=_clean(detail.split("\n", 1)[0]),
                    type=_clean(step.get("error_type", "validation")),
                )
                child.text = _clean(detail)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _seconds(case.get("duration_ms")))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(report.get("duration_ms")))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def with_failed_cases(report: dict[str, Any], failed: list[dict[str, Any]]) -> dict[str, Any]:
    """The report with testcases that could not even start (counted as failures) first."""
    if failed:
        report["testcases"] = failed + report["testcases"]
        report["tests_run"] += len(failed)
        report["failures"] += len(failed)
        report["success"] = False
    return report
