"""Imports (docs/imports.md): a source converted by chalicelib.importers, then written
through catalog/access.py in as few transactions as DynamoDB allows.

Options come from the query (`format`, `dry_run`, the converters' own: `folders`, `per`,
`hosts`, `include_static`, `body_validators`, `shell`). Names that clash with existing
ones get a " (2)"... suffix (catalog's create_testcases / create_modules_with_testcases).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.errors import HatError, ValidationFailed
from chalicelib.core.settings import get_settings

logger = logging.getLogger("hat.imports")

_OWN_PARAMETERS = ("format", "dry_run", "source_url")
_TRUE = {"1", "true", "yes"}


def _options(query: Mapping[str, str]) -> tuple[str | None, bool, dict[str, str]]:
    format_name = (query.get("format") or "").strip().lower() or None
    dry_run = str(query.get("dry_run", "")).strip().lower()
    if dry_run not in _TRUE | {"", "0", "false", "no"}:
        raise ValidationFailed({"dry_run": "1 or 0"})
    options = {k: v for k, v in query.items() if k not in _OWN_PARAMETERS}
    return format_name, dry_run in _TRUE, options


def _convert(raw_body: bytes | None, query: Mapping[str, str], *, project: bool) -> tuple[Any, bool]:
    from chalicelib.importers.common import MALFORMED, SourceInvalid
    from chalicelib.importers.convert import convert_text

    if not raw_body:
        raise ValidationFailed(
            {
                "body": "send the source (a Postman collection, HAR, OpenAPI document "
                "or cURL commands) as the body"
            }
        )
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "the source must be UTF-8 text"}) from None
    format_name, dry_run, options = _options(query)
    if (
        project
        and format_name in (None, "postman")
        and "folders" not in options
        and _is_postman(text, format_name)
    ):
        options["folders"] = "modules"  # a project's modules are the collection's folders
    try:
        conversion = convert_text(text, format_name, options)
    except SourceInvalid as invalid:
        raise ValidationFailed(invalid.fields, message=f"cannot import: {invalid}") from None
    except (*MALFORMED, RecursionError) as error:  # a shape no converter expected: still the client's
        logger.exception("a source the converters could not read")
        raise ValidationFailed({"body": f"the source could not be read ({type(error).__name__})"}) from None
    _drop_oversized(conversion)
    limit = get_settings().import_max_testcases
    if len(conversion.testcases) > limit:
        raise ValidationFailed(
            {"body": f"{len(conversion.testcases)} testcases; one import makes at most {limit}"},
            code="too_many_testcases",
        )
    return conversion, dry_run


def _is_postman(text: str, format_name: str | None) -> bool:
    return (
        format_name == "postman" or '"_postman_id"' in text[:4096] or "schema.getpostman.com" in text[:4096]
    )


def _drop_oversized(conversion: Any) -> None:
    """A testcase over the catalog's size limit is reported, not imported."""
    from chalicelib.catalog.access import document_size

    limit = get_settings().testcase_max_bytes
    kept = []
    for item in conversion.testcases:
        size = document_size(item.document)
        if size > limit:
            conversion.report.skip(f"testcase {item.name!r}", f"{size} bytes; a test case is at most {limit}")
        else:
            kept.append(item)
    conversion.testcases = kept


def _environment_view(conversion: Any) -> dict[str, Any]:
    """The project environment an import writes, by names only: a secret's value is never answered."""
    environment = conversion.environment
    if not environment:
        return {}
    return {"environment": {"name": environment["name"], "variables": sorted(environment["variables"]),
                            "secrets": sorted(environment["secrets"])}}


def _write_environment(user: User, project_id: str, conversion: Any, *, clock: Clock) -> None:
    """Before the test cases: an environment the project cannot take refuses the whole import."""
    from chalicelib.catalog import access as catalog

    environment = conversion.environment
    if environment:
        catalog.merge_environment(user, project_id, environment["name"], environment["variables"],
                                  environment["secrets"], field="environment", clock=clock)


def _preview(conversion: Any) -> dict[str, Any]:
    return {
        "format": conversion.format,
        "dry_run": True,
        "testcases": [
            {"name": t.name, "group": t.group, "testcase": t.document} for t in conversion.testcases
        ],
        **_environment_view(conversion),
        "report": conversion.report.as_dict(),
    }


def import_into_module(
    user: User, module_id: str, raw_body: bytes | None, query: Mapping[str, str], *, clock: Clock
) -> tuple[int, dict[str, Any]]:
    """(status, answer). DynamoDB: a dry run 2 (module, project); else GetItem (module),
    BatchGetItem (names; +1 if some clash), one TransactWriteItems per 49 test cases; with
    ?environment= first the module and project (2 GetItems) and merge_environment's GetItem
    and UpdateItem."""
    from chalicelib.catalog import access as catalog
    from chalicelib.importers.common import UniqueNames

    source_url = query.get("source_url")
    if source_url is not None:
        if raw_body:
            raise ValidationFailed({"source_url": "send the source as the body or name its URL, not both"})
        if query.get("format") not in (None, "openapi") or query.get("per") not in (None, "operation"):
            raise ValidationFailed(
                {"source_url": "only an OpenAPI import, one testcase per operation, remembers its URL"}
            )
        catalog.load_module(user, module_id)  # a stranger makes the server fetch nothing
        raw_body = fetch_source(source_url)
        query = {**query, "format": "openapi"}
    conversion, dry_run = _convert(raw_body, query, project=False)
    names = UniqueNames()  # one module: names unique across the source's groups
    for item in conversion.testcases:
        item.name = names.take(item.name)
        item.document["config"]["name"] = item.name
    if dry_run:
        catalog.load_module(user, module_id)
        return 200, _preview(conversion)
    if conversion.environment:
        _module, project = catalog.load_module(user, module_id)
        _write_environment(user, project.id, conversion, clock=clock)
    created = (
        catalog.create_testcases(user, module_id, [(t.name, t.document) for t in conversion.testcases],
                                 clock=clock)
        if conversion.testcases
        else _checked_module(user, module_id)
    )
    _report_renames(
        conversion, [t.name for t in conversion.testcases], [c["name"] for c in created], "testcase"
    )
    answer = {"format": conversion.format, "testcases": created, **_environment_view(conversion),
              "report": conversion.report.as_dict()}
    if source_url is not None:
        remember_source(user, module_id, source_url, _options(query)[2], conversion, created, clock=clock)
        answer["source_url"] = source_url
    return (201 if created else 200), answer


def _checked_module(user: User, module_id: str) -> list:
    from chalicelib.catalog import access as catalog

    catalog.load_module(user, module_id)
    return []


def import_into_project(
    user: User, project_id: str, raw_body: bytes | None, query: Mapping[str, str], *, clock: Clock
) -> tuple[int, dict[str, Any]]:
    """(status, answer). Groups (Postman folders, OpenAPI tags) become new modules; testcases
    with no group go in a module named after the source. DynamoDB: a dry run 1 (project);
    else GetItem (project), BatchGetItem (module names; +1 if some clash), one
    TransactWriteItems per 49 modules + test cases; with ?environment= first
    merge_environment's GetItem and UpdateItem."""
    from chalicelib.catalog import access as catalog
    from chalicelib.importers.common import UniqueNames, clean_name

    if "source_url" in query:
        raise ValidationFailed(
            {"source_url": "a module import remembers its source URL; a project import does not"}
        )
    conversion, dry_run = _convert(raw_body, query, project=True)
    groups: dict[str, list[tuple[str, dict]]] = {}
    folded: dict[str, str] = {}
    per_group = UniqueNames()
    for item in conversion.testcases:
        group = clean_name(item.group or conversion.title, "imported")
        group = folded.setdefault(group.casefold(), group)
        item.group = group
        item.name = per_group.take(item.name, group.casefold())
        item.document["config"]["name"] = item.name
        groups.setdefault(group, []).append((item.name, item.document))
    limit = get_settings().import_max_modules
    if len(groups) > limit:
        raise ValidationFailed(
            {"body": f"{len(groups)} modules; one import makes at most {limit}"}, code="too_many_modules"
        )
    if dry_run:
        catalog.load_project(user, project_id)
        return 200, _preview(conversion)
    _write_environment(user, project_id, conversion, clock=clock)
    if not groups:
        catalog.load_project(user, project_id)
        return 200, {
            "format": conversion.format,
            "modules": [],
            "testcases": [],
            **_environment_view(conversion),
            "report": conversion.report.as_dict(),
        }
    modules = catalog.create_modules_with_testcases(user, project_id, list(groups.items()), clock=clock)
    _report_renames(conversion, list(groups), [m["name"] for m in modules], "module")
    return 201, {
        "format": conversion.format,
        "modules": [{k: v for k, v in m.items() if k != "testcases"} for m in modules],
        "testcases": [t for m in modules for t in m["testcases"]],
        **_environment_view(conversion),
        "report": conversion.report.as_dict(),
    }


def _report_renames(conversion: Any, wanted: list[str], given: list[str], what: str) -> None:
    for old, new in zip(wanted, given, strict=True):
        if old != new:
            conversion.report.warn(f"{what} {old!r}", f"the name was taken; imported as {new!r}")


# --- an OpenAPI import from a URL, and its re-sync ----------------------------------------------------

MAX_SOURCE_BYTES = 2 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 10


def fetch_source(url: str) -> bytes:
    """GET the source through the runner, so the outbound guard (addresses, DNS, redirects)
    applies as to any run; 400 naming `source_url` when it cannot be had."""
    from chalicelib.core.settings import outbound_allow
    from chalicelib.runner.engine import run_testcases_sync

    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2048:
        raise ValidationFailed({"source_url": "an http:// or https:// URL"})
    document = {
        "config": {"name": "import source"},
        "teststeps": [
            {
                "name": "fetch",
                "request": {
                    "method": "GET",
                    "url": url.replace("$", "$$"),
                    "allow_redirects": False,
                    "timeout": FETCH_TIMEOUT_SECONDS,
                },
                "validate": [{"equal": ["status_code", 200]}],
            }
        ],
    }
    report = run_testcases_sync(
        [document],
        concurrency=1,
        outbound_allow=outbound_allow(),
        deadline_seconds=FETCH_TIMEOUT_SECONDS + 2,
        max_body_chars=MAX_SOURCE_BYTES,
        max_response_bytes=MAX_SOURCE_BYTES,
    )
    step = ((report.get("testcases") or [{}])[0].get("steps") or [{}])[0]
    too_large = {"source_url": f"the document is over {MAX_SOURCE_BYTES // 1024 // 1024} MB"}
    if not step.get("success"):
        if step.get("error_type") == "too_large":  # the answer's body passed max_response_bytes
            raise ValidationFailed(too_large, code="source_too_large")
        if step.get("error_type") == "outbound_refused":
            raise ValidationFailed({"source_url": step.get("error") or "refused"}, code="source_refused")
        why = step.get("error") or f"answered {step.get('status_code')}, not 200"
        raise ValidationFailed({"source_url": f"could not fetch it: {why}"}, code="source_unreachable")
    response = step.get("response") or {}
    body = response.get("body")
    if response.get("body_truncated") or not isinstance(body, str):
        raise ValidationFailed(too_large, code="source_too_large")
    return body.encode("utf-8")


def _digest(document: object) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def remember_source(
    user: User, module_id: str, url: str, options: dict[str, str], conversion: Any, created: list[dict],
    *, clock: Clock,
) -> None:
    """PutItem: what a re-sync needs. Test cases are matched to operations by the order both lists share."""
    from chalicelib.imports.models import ImportSource

    operations = {
        item.key: {"testcase_id": summary["id"], "sha256": _digest(item.document)}
        for item, summary in zip(conversion.testcases, created, strict=True)
        if item.key
    }
    now = clock()
    ImportSource(
        module_id,
        project_id=created[0]["project_id"] if created else "",
        url=url,
        format="openapi",
        options=options,
        operations=operations,
        version=0,
        created_at=now,
        synced_at=now,
    ).save()


SYNC_CLAIM_SECONDS = 120  # a sync holds its module this long at most (a fetch takes 12 s at most)


def sync_module(user: User, module_id: str, *, clock: Clock) -> dict[str, Any]:
    """Fetch the module's source again: operations new in it become test cases, test cases of
    operations it changed are replaced unless a user edited them, removed ones are reported
    (their test cases kept). DynamoDB: GetItem (source), two GetItems (module, project) and a
    BatchGetItem (its test cases), the claim (a conditional UpdateItem), then the writes: a
    conditional UpdateItem recording the new ones' ids, a module import's writes for them,
    two calls per replaced one, and one conditional UpdateItem of the source that ends the claim.

    One sync of a module at a time: the claim moves the source's version on under the
    version read, before anything is fetched or written, so a second sync (a redelivered
    firing, a click meanwhile) is a 409 `concurrent_change` and writes nothing."""
    from chalicelib.catalog import access as catalog
    from chalicelib.core.db import get_or_none
    from chalicelib.core.errors import NotFound
    from chalicelib.imports.models import ImportSource

    source = (
        get_or_none(ImportSource, module_id, consistent_read=True) if isinstance(module_id, str) else None
    )
    if source is None:
        catalog.load_module(user, module_id)  # 404 for a module not the user's, as for any other
        raise NotFound("this module was not imported from a URL", code="no_import_source")
    operations: dict[str, dict[str, str]] = dict(source.operations or {})
    _module, current = catalog.testcases_in_module(
        user, module_id, [entry["testcase_id"] for entry in operations.values()]
    )
    _claim(source, clock())
    try:
        answer = _sync(user, source, operations, current, clock=clock)
    except BaseException:
        try:
            _release(source, operations, clock(), synced=False)
        except Exception:  # the first failure is the one to report
            logger.exception("module %s: the failed re-sync's claim could not be released", module_id)
        raise
    _release(source, operations, clock(), synced=True)
    return answer


def _sync_conflict() -> Exception:
    from chalicelib.core.errors import Conflict

    return Conflict("another re-sync of this module is under way", code="concurrent_change")


def _claim(source: Any, now: datetime) -> None:
    """UpdateItem: version + 1 and `syncing_until`, under the version read and no live claim."""
    from datetime import timedelta

    from chalicelib.core.db import update_if
    from chalicelib.imports.models import ImportSource

    if source.syncing_until is not None and source.syncing_until > now:
        raise _sync_conflict()
    claimed = update_if(
        source,
        [
            ImportSource.version.add(1),
            ImportSource.syncing_until.set(now + timedelta(seconds=SYNC_CLAIM_SECONDS)),
        ],
        ImportSource.version == source.version,
    )
    if not claimed:
        raise _sync_conflict()


def _record(source: Any, operations: dict[str, dict[str, str]]) -> None:
    """UpdateItem under the claim's version: the operations as they stand, the claim kept."""
    from chalicelib.core.db import update_if
    from chalicelib.imports.models import ImportSource

    claimed = ImportSource.version == source.version
    if not update_if(source, [ImportSource.operations.set(operations)], claimed):
        raise _sync_conflict()  # the claim lapsed and another sync took the module over


def _release(source: Any, operations: dict[str, dict[str, str]], now: datetime, *, synced: bool) -> None:
    """UpdateItem under the claim's version: what was written so far (on a failure too, so a
    test case replaced before it keeps its new hash), the claim removed."""
    from chalicelib.core.db import update_if
    from chalicelib.imports.models import ImportSource

    actions = [
        ImportSource.operations.set(operations),
        ImportSource.version.add(1),
        ImportSource.syncing_until.remove(),
    ]
    if synced:
        actions.append(ImportSource.synced_at.set(now))
    released = update_if(source, actions, ImportSource.version == source.version)
    if not released:  # the claim lapsed and another sync took the module over
        raise _sync_conflict()


def _sync(
    user: User, source: Any, operations: dict[str, dict[str, str]], current: dict[str, dict], *, clock: Clock
) -> dict[str, Any]:
    """The fetch and the writes of a claimed sync; `operations` is updated as they happen.

    New test cases get their ids first, recorded on the source as pending under the claim,
    then are written. A sync that dies between the two leaves pending entries: the next one
    counts those it finds as added and writes the others under the ids recorded, so a crash
    never makes an operation's test case twice."""
    from chalicelib.catalog import access as catalog
    from chalicelib.catalog.schemas import TestcaseBody
    from chalicelib.core.ids import new_id

    try:
        conversion, _ = _convert(
            fetch_source(source.url), {"format": source.format, **(source.options or {})}, project=False
        )
    except ValidationFailed as invalid:
        if invalid.code != "invalid_field":  # the fetch's own codes, too_many_testcases
            raise
        raise ValidationFailed(invalid.fields, message=invalid.message, code="invalid_document") from None
    report = conversion.report
    fresh = {item.key: item for item in conversion.testcases if item.key}
    added: list[dict] = []
    updated, left_alone, removed = [], [], []
    unwritten: dict[str, str] = {}  # operation key -> the id an earlier sync recorded, then died
    for key, entry in list(operations.items()):
        stored = current.get(entry["testcase_id"])
        if entry.get("pending"):  # recorded by a sync that stopped before it ended its claim
            del entry["pending"]
            if stored is None:  # never written (or undone): made below, under the same id
                unwritten[key] = entry["testcase_id"]
                del operations[key]
                continue
            added.append({k: v for k, v in stored.items() if k != "testcase"})  # written: new to the user
        if key not in fresh:
            removed.append(key)
            report.warn(
                f"operation {key}",
                "no longer in the source; its test case is kept" if stored else "no longer in the source",
            )
            del operations[key]
            continue
        item = fresh.pop(key)
        if stored is None:
            report.warn(f"operation {key}", "its test case was deleted here; not made again")
            continue
        if _digest(stored["testcase"]) != entry["sha256"]:
            left_alone.append(stored["name"])
            report.warn(f"testcase {stored['name']!r}", "edited since the import: left alone")
            continue
        item.document["config"]["name"] = stored["testcase"]["config"]["name"]
        if _digest(item.document) != entry["sha256"]:
            replaced = catalog.replace_testcase(
                user, stored["id"], TestcaseBody(testcase=item.document), clock=clock
            )
            entry["sha256"] = _digest(replaced["testcase"])
            updated.append(stored["name"])
    new_items = list(fresh.values())
    if new_items:
        from chalicelib.importers.common import UniqueNames

        names = UniqueNames()
        for item in new_items:
            item.name = names.take(item.name)
            item.document["config"]["name"] = item.name
        ids = [unwritten.get(item.key) or new_id() for item in new_items]
        for item, testcase_id in zip(new_items, ids, strict=True):
            digest = _digest(item.document)
            operations[item.key] = {"testcase_id": testcase_id, "sha256": digest, "pending": "1"}
        _record(source, operations)  # before the writes: a sync that dies after them is not a duplicate
        created = catalog.create_testcases(
            user, source.module_id, [(i.name, i.document) for i in new_items], clock=clock, ids=ids
        )
        for item in new_items:
            del operations[item.key]["pending"]
        added += created
    return {
        "format": source.format,
        "source_url": source.url,
        "added": added,
        "updated": updated,
        "left_alone": left_alone,
        "removed": removed,
        "report": report.as_dict(),
    }


# --- the re-sync before a task's run (schedules calls it) ---------------------------------------------

MAX_SYNCED_MODULES = 10  # per run: each may take a fetch of up to 12 s


def sync_before_run(
    user: User,
    project_id: str,
    module_ids: list[str],
    *,
    budget_seconds: float,
    max_modules: int = MAX_SYNCED_MODULES,
    clock: Clock,
) -> list[dict[str, Any]]:
    """Re-sync, as `user`, every module of `module_ids` (empty: of the project) imported from a
    URL, in the modules' order; a module that cannot be synced keeps its test cases and says
    why. Per module `{"module_id", "added", "updated", "removed", "kept_edited"}` (counts) or
    `{"module_id", "error": {"code", "message"}}`; raises nothing for one module's failure.
    Modules past `max_modules`, or reached when less than a fetch's time is left of
    `budget_seconds`, are `sync_skipped`. DynamoDB: a Query of the project's modules (no
    `module_ids` only), one BatchGetItem of their sources (per 100), then each sync's calls."""
    import time

    from chalicelib.catalog.models import ACTIVE, Module
    from chalicelib.core.db import get_many
    from chalicelib.imports.models import ImportSource

    started = time.monotonic()
    if not module_ids:
        module_ids = [
            m.id for m in Module.by_project.query(project_id, scan_index_forward=True) if m.status == ACTIVE
        ]
    sources = [s for s in get_many([(ImportSource, m) for m in module_ids]) if s is not None]
    outcomes = []
    for index, source in enumerate(sources):
        left = budget_seconds - (time.monotonic() - started)
        if index >= max_modules or left < FETCH_TIMEOUT_SECONDS + 2:
            why = (
                f"a run re-syncs at most {max_modules} modules"
                if index >= max_modules
                else f"not synced: the run's {budget_seconds:g} s for re-syncs were used up"
            )
            outcomes.append(_failed(source.module_id, "sync_skipped", why))
            continue
        outcomes.append(_sync_outcome(user, source.module_id, clock))
    return outcomes


def _failed(module_id: str, code: str, message: str) -> dict[str, Any]:
    logger.warning("module %s: the re-sync before the run failed (%s): %s", module_id, code, message)
    return {"module_id": module_id, "error": {"code": code, "message": message}}


def _sync_outcome(user: User, module_id: str, clock: Clock) -> dict[str, Any]:
    try:
        synced = sync_module(user, module_id, clock=clock)
    except HatError as error:  # unreachable, refused, too large, a bad document, a race, gone
        return _failed(module_id, error.code, error.fields.get("source_url") or error.message)
    except Exception:  # never stops the run; the log has the trace
        logger.exception("module %s: the re-sync before the run failed", module_id)
        return _failed(
            module_id, "sync_failed", "the re-sync failed; the run uses the test cases as they were"
        )
    return {
        "module_id": module_id,
        "added": len(synced["added"]),
        "updated": len(synced["updated"]),
        "removed": len(synced["removed"]),
        "kept_edited": len(synced["left_alone"]),
    }
