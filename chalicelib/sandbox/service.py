"""A project's debugtalk.py: saved (checked with ``ast``, never executed here), versioned,
and the runs that need it dispatched to the project's sandbox.

Routes: GET, PUT, DELETE /projects/{id}/debugtalk (docs/sandbox.md). The worker calls
``run_with_sandbox``: testcases that need user code go to the sandbox gateway, the others
stay on the worker's own fast path.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.catalog.access import load_project
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import get_or_none
from chalicelib.core.errors import (
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.core.settings import get_settings
from chalicelib.sandbox.models import Debugtalk

MEDIA_TYPES = ("text/x-python", "text/plain")
MAX_REFERENCES = 200  # referenced testcases shipped to one sandbox run
_REFERENCE_DEPTH = 8  # as the engine's MAX_REFERENCE_DEPTH


def _gateway(gateway: Any) -> Any:
    if gateway is not None:
        return gateway
    from chalicelib.sandbox.gateway import default_gateway

    return default_gateway()


def view(item: Debugtalk, *, with_source: bool = False) -> dict:
    out = {"version": int(item.version), "functions": list(item.functions), "sha256": item.sha256,
           "size": int(item.size_bytes), "updated_at": isoformat(item.updated_at)}
    if with_source:
        out["source"] = item.source
    return out


def get_debugtalk(user: User, project_id: str) -> dict:
    """GetItem (project), GetItem (debugtalk)."""
    project = load_project(user, project_id)
    item = get_or_none(Debugtalk, project.id, consistent_read=True)
    if item is None:
        raise NotFound("this project has no debugtalk.py", code="debugtalk_not_found")
    return view(item, with_source=True)


def checked_source(raw_body: bytes | None, content_type: str) -> tuple[str, list[str]]:
    """(source, function names) of a debugtalk.py body; 415 / 413 / 400 naming the line."""
    from chalicelib.runner.debugtalk import MAX_SOURCE_BYTES, DebugtalkInvalid, function_names

    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"send debugtalk.py as {' or '.join(MEDIA_TYPES)}", code="unsupported_media_type")
    body = raw_body or b""
    if len(body) > MAX_SOURCE_BYTES:
        raise PayloadTooLarge(f"debugtalk.py is {len(body)} bytes; at most {MAX_SOURCE_BYTES}",
                              code="debugtalk_too_large")
    try:
        source = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "debugtalk.py must be UTF-8 text"}) from None
    try:
        names = function_names(source)
    except DebugtalkInvalid as invalid:
        fields = {f"body.line[{invalid.line}]" if invalid.line else "body": str(invalid)}
        raise ValidationFailed(fields, message=f"debugtalk.py: {invalid}") from None
    return source, names


def put_debugtalk(user: User, project_id: str, raw_body: bytes | None, content_type: str, *,
                  clock: Clock) -> dict:
    """GetItem (project), UpdateItem (ADD version 1); a job then gives the project's sandbox
    the new code (``sync_sandbox``)."""
    source, names = checked_source(raw_body, content_type)
    project = load_project(user, project_id)
    encoded = source.encode()
    item = Debugtalk(project.id)
    item.update(actions=[
        Debugtalk.version.add(1), Debugtalk.source.set(source), Debugtalk.functions.set(names),
        Debugtalk.sha256.set(hashlib.sha256(encoded).hexdigest()),
        Debugtalk.size_bytes.set(len(encoded)), Debugtalk.updated_at.set(clock()),
        Debugtalk.updated_by.set(user["id"]),
    ])
    _enqueue_sync(project.id)
    return view(item)


def delete_debugtalk(user: User, project_id: str) -> None:
    """GetItem (project), DeleteItem; a job then removes the project's sandbox."""
    project = load_project(user, project_id)
    Debugtalk(project.id).delete()
    _enqueue_sync(project.id)


def _enqueue_sync(project_id: str) -> None:
    from chalicelib.core.jobs import enqueue

    enqueue("runs", {"kind": "sandbox", "project_id": project_id})


def sync_sandbox(project_id: str, *, gateway: Any = None) -> int | None:
    """The runs queue's "sandbox" job: the project's sandbox made to match its debugtalk.py
    as it is now (read again, so a redelivered or late job converges, never goes back);
    the version deployed, or None when it has none (its sandbox removed). GetItem."""
    item = get_or_none(Debugtalk, project_id, consistent_read=True)
    if item is None:
        _gateway(gateway).remove(project_id)
        return None
    _gateway(gateway).deploy(project_id, item.source, int(item.version))
    return int(item.version)


def project_functions(project_id: str) -> frozenset[str] | None:
    """The function names of the project's debugtalk.py (None: it has none). One GetItem."""
    item = get_or_none(Debugtalk, project_id, consistent_read=True)
    return None if item is None else frozenset(item.functions)


# --- the worker's dispatch ------------------------------------------------------------------------

def run_with_sandbox(project_id: str, documents: list, runner: Callable[..., dict], *,
                     gateway: Any = None, **options: Any) -> dict:
    """``runner(documents, **options)``, except that the testcases needing the project's
    debugtalk.py (themselves or a testcase they reference) run in its sandbox. Those come
    after the others in the report."""
    from chalicelib.runner.schema import needs_user_code

    resolve = options.get("resolve_testcase")
    if resolve is not None:  # looked up once, whether here or by the engine
        options = {**options, "resolve_testcase": _once(resolve)}
    flags = [needs_user_code(doc) or (
        resolve is not None and any(needs_user_code(ref) for ref in
                                    _references([doc], options["resolve_testcase"]).values()))
        for doc in documents]
    if not any(flags):
        return runner(documents, **options)
    started = time.monotonic()
    plain = [doc for doc, flag in zip(documents, flags, strict=True) if not flag]
    sandboxed = [doc for doc, flag in zip(documents, flags, strict=True) if flag]
    reports = [runner(plain, **options)] if plain else []
    deadline = options.get("deadline_seconds") or get_settings().run_deadline_seconds
    remaining = max(1.0, float(deadline) - (time.monotonic() - started))
    reports.append(_sandboxed(project_id, sandboxed, options, remaining, _gateway(gateway)))
    return _merged(reports)


def _sandboxed(project_id: str, documents: list, options: Mapping[str, Any], deadline: float,
               gateway: Any) -> dict:
    from chalicelib.sandbox.gateway import SandboxFailed, SandboxRun

    item = get_or_none(Debugtalk, project_id, consistent_read=True)
    if item is None:
        return _failed_on_steps(documents, "this testcase calls debugtalk.py functions, and the "
                                           "project has no debugtalk.py", "sandbox_unavailable")
    resolve = options.get("resolve_testcase")
    run = SandboxRun(
        testcases=list(documents),
        references=_references(documents, resolve) if resolve else {},
        environment=dict(options.get("environment") or {}),
        deadline_seconds=deadline,
        concurrency=int(options.get("concurrency") or get_settings().run_concurrency),
        outbound_allow=list(options.get("outbound_allow") or []),
        call_seconds=float(get_settings().sandbox_call_seconds),
        source=item.source,
        version=int(item.version),
        max_report_chars=options.get("max_report_chars"),
    )
    try:
        report = gateway.invoke(project_id, run)
    except SandboxFailed as failed:
        report = _failed_on_steps(documents, str(failed), f"sandbox_{failed.kind}")
    report.setdefault("debugtalk_version", int(item.version))
    return report


def _once(resolve: Callable[[str], Any]) -> Callable[[str], Any]:
    """``resolve`` with its answers (and its failures) kept for the run."""
    from chalicelib.runner.errors import RunnerError

    answers: dict[str, Any] = {}

    def resolved(ref: str) -> Any:
        if ref not in answers:
            try:
                answers[ref] = resolve(ref)
            except (RunnerError, LookupError) as failure:
                answers[ref] = failure
        answer = answers[ref]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return resolved


def _references(documents: list, resolve: Callable[[str], Any]) -> dict[str, Any]:
    """Every testcase the documents reference, however deep (within the engine's bound)."""
    from chalicelib.runner.errors import RunnerError

    found: dict[str, Any] = {}
    level = list(documents)
    for _depth in range(_REFERENCE_DEPTH):
        following = []
        for doc in level:
            for step in (doc.get("teststeps") or []) if isinstance(doc, dict) else []:
                ref = step.get("testcase") if isinstance(step, dict) else None
                if not isinstance(ref, str) or ref in found or len(found) >= MAX_REFERENCES:
                    continue
                try:
                    found[ref] = dict(resolve(ref))
                except (RunnerError, LookupError):
                    continue  # the sandbox reports it on the step, as the engine would
                following.append(found[ref])
        level = following
    return found


def _failed_on_steps(documents: list, message: str, error_type: str) -> dict:
    """The report of testcases the sandbox could not run: the reason on each first step."""
    cases = []
    for doc in documents:
        config = doc.get("config") if isinstance(doc, dict) else None
        steps = [s for s in (doc.get("teststeps") or []) if isinstance(s, dict)] \
            if isinstance(doc, dict) else []
        reports = [{"name": str(s.get("name") or f"step {i + 1}"), "success": False,
                    "status_code": None, "elapsed_ms": 0.0, "validators": [],
                    **({"error": message, "error_type": error_type} if i == 0 else
                       {"skipped": True, "error": "skipped: an earlier step failed",
                        "error_type": "skipped"})}
                   for i, s in enumerate(steps)]
        cases.append({"name": str((config or {}).get("name") or "testcase"), "success": False,
                      "duration_ms": 0.0, "steps": reports})
    return {"success": False, "tests_run": len(cases), "successes": 0, "failures": len(cases),
            "duration_ms": 0.0, "testcases": cases}


_NUMBER = (int, float)


def _well_formed_steps(steps: Any, depth: int = 0) -> bool:
    """The shape the report's readers (the answers, JUnit) rely on, bounded in depth."""
    if not isinstance(steps, list) or depth > _REFERENCE_DEPTH + 1:
        return False
    for step in steps:
        if not (isinstance(step, dict) and isinstance(step.get("name"), str)
                and isinstance(step.get("success"), bool)
                and isinstance(step.get("elapsed_ms", 0), (*_NUMBER, type(None)))
                and isinstance(step.get("validators", []), list)
                and all(isinstance(v, dict) for v in step.get("validators", []))
                and isinstance(step.get("error", ""), str)
                and isinstance(step.get("error_type", ""), str)):
            return False
        if "steps" in step and not _well_formed_steps(step["steps"], depth + 1):
            return False
    return True


def _checked_case(case: Any) -> dict:
    # a sandbox's report is the word of a process running the user's code: what does not
    # have the shape of a testcase report is replaced, never stored as it came
    if (isinstance(case, dict) and isinstance(case.get("name"), str)
            and isinstance(case.get("success"), bool)
            and isinstance(case.get("duration_ms", 0), _NUMBER)
            and isinstance(case.get("error", ""), str) and _well_formed_steps(case.get("steps"))):
        return case
    name = case.get("name") if isinstance(case, dict) else None
    return {"name": name if isinstance(name, str) else "testcase", "success": False,
            "duration_ms": 0.0, "steps": [], "error_type": "sandbox_crashed",
            "error": "the sandbox's report for this testcase is malformed"}


def _merged(reports: list[dict]) -> dict:
    # counted again from the cases: a sandbox's report is the user's process's word
    cases = [_checked_case(case) for report in reports for case in report.get("testcases") or []]
    successes = sum(1 for case in cases if case.get("success") is True)
    merged = {"success": successes == len(cases), "tests_run": len(cases), "successes": successes,
              "failures": len(cases) - successes,
              "duration_ms": sum(float(r.get("duration_ms") or 0) for r in reports),
              "testcases": cases}
    versions = [r["debugtalk_version"] for r in reports if "debugtalk_version" in r]
    if versions:
        merged["debugtalk_version"] = int(versions[-1])
    return merged
