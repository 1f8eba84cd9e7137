"""Imports (docs/imports.md): a source converted by chalicelib.importers, then written
through catalog's service in as few transactions as DynamoDB allows.

Options come from the query (`format`, `dry_run`, the converters' own: `folders`, `per`,
`hosts`, `include_static`, `body_validators`, `shell`). Names that clash with existing
ones get a " (2)"... suffix (catalog's create_testcases / create_modules_with_testcases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.settings import get_settings

_OWN_PARAMETERS = ("format", "dry_run")
_TRUE = {"1", "true", "yes"}


def _options(query: Mapping[str, str]) -> tuple[str | None, bool, dict[str, str]]:
    format_name = (query.get("format") or "").strip().lower() or None
    dry_run = str(query.get("dry_run", "")).strip().lower()
    if dry_run not in _TRUE | {"", "0", "false", "no"}:
        raise ValidationFailed({"dry_run": "1 or 0"})
    options = {k: v for k, v in query.items() if k not in _OWN_PARAMETERS}
    return format_name, dry_run in _TRUE, options


def _convert(raw_body: bytes | None, query: Mapping[str, str], *, project: bool) -> tuple[Any, bool]:
    from chalicelib.importers.common import SourceInvalid
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
    from chalicelib.catalog.service import document_size

    limit = get_settings().testcase_max_bytes
    kept = []
    for item in conversion.testcases:
        size = document_size(item.document)
        if size > limit:
            conversion.report.skip(f"testcase {item.name!r}", f"{size} bytes; a test case is at most {limit}")
        else:
            kept.append(item)
    conversion.testcases = kept


def _preview(conversion: Any) -> dict[str, Any]:
    return {
        "format": conversion.format,
        "dry_run": True,
        "testcases": [
            {"name": t.name, "group": t.group, "testcase": t.document} for t in conversion.testcases
        ],
        "report": conversion.report.as_dict(),
    }


def import_into_module(
    user: dict, module_id: str, raw_body: bytes | None, query: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """(status, answer). DynamoDB: a dry run 2 (module, project); else GetItem (module),
    BatchGetItem (names; +1 if some clash), one TransactWriteItems per 49 test cases."""
    from chalicelib.catalog import service as catalog
    from chalicelib.importers.common import UniqueNames

    conversion, dry_run = _convert(raw_body, query, project=False)
    names = UniqueNames()  # one module: names unique across the source's groups
    for item in conversion.testcases:
        item.name = names.take(item.name)
        item.document["config"]["name"] = item.name
    if dry_run:
        catalog.load_module(user, module_id)
        return 200, _preview(conversion)
    created = (
        catalog.create_testcases(user, module_id, [(t.name, t.document) for t in conversion.testcases])
        if conversion.testcases
        else _checked_module(user, module_id)
    )
    _report_renames(
        conversion, [t.name for t in conversion.testcases], [c["name"] for c in created], "testcase"
    )
    return (201 if created else 200), {
        "format": conversion.format,
        "testcases": created,
        "report": conversion.report.as_dict(),
    }


def _checked_module(user: dict, module_id: str) -> list:
    from chalicelib.catalog import service as catalog

    catalog.load_module(user, module_id)
    return []


def import_into_project(
    user: dict, project_id: str, raw_body: bytes | None, query: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """(status, answer). Groups (Postman folders, OpenAPI tags) become new modules; testcases
    with no group go in a module named after the source. DynamoDB: a dry run 1 (project);
    else GetItem (project), BatchGetItem (module names; +1 if some clash), one
    TransactWriteItems per 49 modules + test cases."""
    from chalicelib.catalog import service as catalog
    from chalicelib.importers.common import UniqueNames, clean_name

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
    if dry_run or not groups:
        catalog.load_project(user, project_id)
        return 200, _preview(conversion) if dry_run else {
            "format": conversion.format,
            "modules": [],
            "testcases": [],
            "report": conversion.report.as_dict(),
        }
    modules = catalog.create_modules_with_testcases(user, project_id, list(groups.items()))
    _report_renames(conversion, list(groups), [m["name"] for m in modules], "module")
    return 201, {
        "format": conversion.format,
        "modules": [{k: v for k, v in m.items() if k != "testcases"} for m in modules],
        "testcases": [t for m in modules for t in m["testcases"]],
        "report": conversion.report.as_dict(),
    }


def _report_renames(conversion: Any, wanted: list[str], given: list[str], what: str) -> None:
    for old, new in zip(wanted, given, strict=True):
        if old != new:
            conversion.report.warn(f"{what} {old!r}", f"the name was taken; imported as {new!r}")
