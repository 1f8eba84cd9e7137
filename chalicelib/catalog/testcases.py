"""A module's test cases: add (a body, or an HttpRunner v3 file's JSON or YAML), list
(summaries), read, replace, delete. Each write moves the module's and the project's
`testcase_count` in the same transaction; many at once (imports) are catalog/bulk.py's.

DynamoDB calls per route (the auth middleware's GetItem comes on top) are noted on each
function; none Scans.
"""
from __future__ import annotations

from chalicelib.catalog.documents import checked_document, testcase_name
from chalicelib.catalog.extensions import project_functions
from chalicelib.catalog.models import ACTIVE, Module, NameClaim, Project, StoredTestcase, testcase_claim
from chalicelib.catalog.names import NAME_FILTER_READ_AHEAD, name_prefix, name_taken
from chalicelib.catalog.schemas import TestcaseBody, _name
from chalicelib.catalog.views import testcase_summary, testcase_view
from chalicelib.catalog.visibility import (
    changed_meanwhile,
    live_module,
    load_module,
    load_testcase,
    member_of,
    not_found,
    stored_testcase,
)
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import Cancelled, Tx, checked_start_key, query_page, string_key
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.ids import fold, new_id, sort_key
from chalicelib.core.pagination import page


def create_testcase(user: User, module_id: str, body: TestcaseBody, *, clock: Clock) -> dict:
    """GetItem (module), one TransactWriteItems: the test case, its name claim, and +1 on
    the module's and the project's counts (if the module is live and the user a member)."""
    module = _ModuleOnce(module_id)
    document, size, steps = checked_document(body.testcase, prefix="testcase",
                                             functions_of=module.functions)
    name = testcase_name(body.name, document, field="testcase.config.name")
    return _store_testcase(user, module.get(), name, document, size, steps, clock)


class _ModuleOnce:
    """The module a test case goes into, read once whether its project's debugtalk.py
    function names were needed to check the test case first or not."""

    def __init__(self, module_id: str) -> None:
        self.module_id = module_id
        self._module: Module | None = None

    def get(self) -> Module:
        if self._module is None:
            self._module = live_module(self.module_id)
        return self._module

    def functions(self) -> frozenset[str] | None:
        return project_functions(self.get().project_id)


def import_testcase(user: User, module_id: str, raw_body: bytes | None, content_type: str,
                    name: str | None = None, *, clock: Clock) -> dict:
    """Like create_testcase, from an HttpRunner v3 file's text: JSON, or YAML (safe loading)."""
    from chalicelib.core.parsing import max_depth, too_deep
    from chalicelib.runner.errors import NestedTooDeep
    from chalicelib.runner.schema import TestcaseInvalid, parse_testcase_text

    if not raw_body:
        raise ValidationFailed({"body": "send an HttpRunner v3 testcase as JSON or YAML"})
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "the text must be UTF-8"}) from None
    try:  # the depth is scanned before any loader runs: libyaml's composer recurses per level in C
        parsed = parse_testcase_text(text, content_type or "application/json", max_depth=max_depth())
    except NestedTooDeep as deep:
        raise too_deep(deep.kind, deep.limit, "body") from None
    except TestcaseInvalid as invalid:
        raise ValidationFailed({path or "body": message for path, message in invalid.fields.items()},
                               message=str(invalid)) from None
    module = _ModuleOnce(module_id)
    document, size, steps = checked_document(parsed, functions_of=module.functions)
    if name is not None:
        try:
            name = _name(name)
        except ValueError as error:
            raise ValidationFailed({"name": str(error)}) from None
    name = testcase_name(name, document, field="config.name")
    return _store_testcase(user, module.get(), name, document, size, steps, clock)


def _store_testcase(user: User, module: Module, name: str, document: object, size: int, steps: int,
                    clock: Clock) -> dict:
    now, testcase_id = clock(), new_id()
    testcase = StoredTestcase(
        testcase_id, module_id=module.id, project_id=module.project_id, name=name, name_lc=fold(name),
        document=document, step_count=steps, size_bytes=size, created_at=now, updated_at=now,
        sort_key=sort_key(now, testcase_id))
    tx = Tx()
    tx.put("testcase", testcase, StoredTestcase.id.does_not_exist())
    tx.put("name", NameClaim(testcase_claim(module.id, testcase.name_lc), target_id=testcase_id),
           NameClaim.key.does_not_exist())
    tx.update("module", Module(module.id), [Module.testcase_count.add(1)], Module.status == ACTIVE)
    tx.update("project", Project(module.project_id), [Project.testcase_count.add(1)], member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project") or cancelled.failed("module"):
            raise not_found("module") from None
        if cancelled.failed("name"):
            raise name_taken("testcase", name) from None
        raise
    return testcase_view(testcase)


def list_testcases(user: User, module_id: str, limit: int, start: dict | None,
                   name: str | None = None) -> dict:
    """Two GetItems (module, project), one Query on the by-module index; summaries, newest first."""
    module, _project = load_module(user, module_id)
    start = checked_start_key(start, names=("id", "module_id", "sort_key"),
                              partition={"module_id": module.id})
    prefix = name_prefix(name)
    condition = StoredTestcase.name_lc.startswith(prefix) if prefix else None
    testcases, next_key = query_page(
        lambda **kw: StoredTestcase.by_module.query(module.id, filter_condition=condition,
                                                    scan_index_forward=False, **kw),
        StoredTestcase, limit=limit, start_key=start,
        key_of=lambda t: string_key(id=t.id, module_id=t.module_id, sort_key=t.sort_key),
        read_ahead=NAME_FILTER_READ_AHEAD if prefix else None)
    return page([testcase_summary(t) for t in testcases], next_key)


def get_testcase(user: User, testcase_id: str) -> dict:
    """GetItem, BatchGetItem (module, project)."""
    return testcase_view(load_testcase(user, testcase_id))


def replace_testcase(user: User, testcase_id: str, body: TestcaseBody, *, clock: Clock) -> dict:
    """GetItem, one TransactWriteItems (the new document; checks that the module is live and
    the user a member; a moved name claim if renamed). The name stays unless given."""
    testcase = stored_testcase(testcase_id)
    document, size, steps = checked_document(
        body.testcase, prefix="testcase", functions_of=lambda: project_functions(testcase.project_id))
    name = body.name if body.name is not None else testcase.name
    old_lc, new_lc, now = testcase.name_lc, fold(name), clock()
    tx = Tx()
    tx.update("testcase", testcase,
              [StoredTestcase.document.set(document), StoredTestcase.name.set(name),
               StoredTestcase.name_lc.set(new_lc), StoredTestcase.step_count.set(steps),
               StoredTestcase.size_bytes.set(size), StoredTestcase.updated_at.set(now)],
              StoredTestcase.id.exists() & (StoredTestcase.name_lc == old_lc), return_old=True)
    tx.check("module", Module, testcase.module_id, Module.status == ACTIVE)
    tx.check("project", Project, testcase.project_id, member_of(user))
    if new_lc != old_lc:
        tx.delete("old_name", NameClaim(testcase_claim(testcase.module_id, old_lc)))
        tx.put("new_name", NameClaim(testcase_claim(testcase.module_id, new_lc), target_id=testcase.id),
               NameClaim.key.does_not_exist())
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("project") or cancelled.failed("module"):
            raise not_found("testcase") from None
        if cancelled.failed("testcase"):
            if cancelled.old("testcase", StoredTestcase) is None:
                raise not_found("testcase") from None
            raise changed_meanwhile("testcase") from None
        if cancelled.failed("new_name"):
            raise name_taken("testcase", name) from None
        raise
    testcase.document, testcase.name, testcase.name_lc = document, name, new_lc
    testcase.step_count, testcase.size_bytes, testcase.updated_at = steps, size, now
    return testcase_view(testcase)


def delete_testcase(user: User, testcase_id: str) -> None:
    """GetItem, one TransactWriteItems: the test case, its name claim, -1 on both counts."""
    testcase = stored_testcase(testcase_id)
    tx = Tx()
    tx.delete("testcase", testcase, StoredTestcase.id.exists() & (StoredTestcase.name_lc == testcase.name_lc))
    tx.delete("name", NameClaim(testcase_claim(testcase.module_id, testcase.name_lc)))
    tx.update("module", Module(testcase.module_id), [Module.testcase_count.add(-1)], Module.status == ACTIVE)
    tx.update("project", Project(testcase.project_id), [Project.testcase_count.add(-1)],
              member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled:
        raise not_found("testcase") from None
