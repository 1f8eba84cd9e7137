"""What other features read (and imports write) of catalog: catalog owns its tables, the others
come through here.

- Loading with access checks (catalog/visibility.py): `load_project`, `load_module`,
  `load_testcase` (404 for what the user may not see; `load_testcase_with_project` with the
  project it read), `visible_to`, `is_member`, and
  `member_of(user)`, the condition a write of theirs puts on the project item.
- Loading without one (a job, a webhook: no user): `live_project` (None unless live).
- Test case documents: `checked_document`, `document_size` (catalog/documents.py).
- Paging a Query (core/db.py): `checked_start_key`, `query_page`, `string_key`.
- For a run: `testcase_ids` (what it covers), `stored_testcases` (their documents) and
  `testcase_resolver` (a `testcase: <ref>` step's target), `project_ids_of` (the dashboard).
- For imports: `create_testcases`, `create_modules_with_testcases`, `testcases_in_module`
  (catalog/bulk.py), `replace_testcase` (catalog/testcases.py), `merge_environment`
  (catalog/environments.py).

DynamoDB calls are noted on each function.

The one allowed exception: a write of another feature that puts a condition on a catalog item
in its own transaction or update (a ConditionCheck of the project's status and members, a
task's modules still live) spells it with catalog/models.py's attributes, and annotates with
its classes; loading an item goes through here.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.catalog.bulk import create_modules_with_testcases, create_testcases, testcases_in_module
from chalicelib.catalog.documents import checked_document, document_size
from chalicelib.catalog.environments import merge_environment
from chalicelib.catalog.models import ACTIVE, Membership, Module, Project, StoredTestcase
from chalicelib.catalog.testcases import replace_testcase
from chalicelib.catalog.visibility import (
    is_member,
    load_module,
    load_project,
    load_testcase,
    load_testcase_with_project,
    member_of,
    visible_to,
)
from chalicelib.core.db import checked_start_key, get_or_none, query_page, string_key
from chalicelib.core.ids import is_id

__all__ = [
    "checked_document", "checked_start_key", "create_modules_with_testcases", "create_testcases",
    "document_size", "is_member", "live_project", "load_module", "load_project", "load_testcase",
    "load_testcase_with_project", "member_of", "merge_environment",
    "project_ids_of", "query_page", "replace_testcase", "stored_testcases", "string_key",
    "testcase_ids", "testcase_resolver", "testcases_in_module", "visible_to",
]


def live_project(project_id: str, *, consistent_read: bool = True) -> Project | None:
    """The project if it exists and is live (not being deleted), else None; no access check.
    One GetItem."""
    project = get_or_none(Project, project_id, consistent_read=consistent_read)
    return project if project is not None and project.status == ACTIVE else None


def project_ids_of(user_id: str) -> list[str]:
    """Every project the user belongs to, live or being deleted (a Query per 1 MB of memberships)."""
    return [row.project_id for row in Membership.query(user_id, attributes_to_get=["project_id"])]


def testcase_ids(project_id: str, *, module_ids: list[str] | None = None,
                 testcase_ids: list[str] | None = None) -> list[str]:
    """What a run covers, read when it starts: `testcase_ids` as given, else the test cases of
    the project's live modules (of those in `module_ids`, when given), oldest module first.
    A Query on the project's modules, then one per module read."""
    if testcase_ids:
        return list(testcase_ids)
    wanted = set(module_ids) if module_ids else None
    ids: list[str] = []
    for module in Module.by_project.query(project_id, scan_index_forward=True):
        if module.status == ACTIVE and (wanted is None or module.id in wanted):
            ids += [t.id for t in StoredTestcase.by_module.query(module.id, scan_index_forward=True)]
    return ids


def stored_testcases(ids: list[str], project_id: str) -> list[StoredTestcase]:
    """Those of `ids` that are test cases of the project, in the order of `ids` (one
    BatchGetItem per 100; an id of another project's, or one deleted since, is left out)."""
    found = {}
    for start in range(0, len(ids), 100):
        for testcase in StoredTestcase.batch_get(ids[start:start + 100]):
            if testcase.project_id == project_id:
                found[testcase.id] = testcase
    return [found[i] for i in ids if i in found]


def testcase_resolver(project_id: str) -> Callable[[str], Mapping]:
    """A run's `testcase: <ref>` steps: the document of a test case of the same project, by id
    or by name (case-insensitively; the names are read once, on the first reference by name:
    a Query on the modules and one per live module). TestcaseNotFound for anything else."""
    from chalicelib.runner.errors import TestcaseNotFound

    by_name: dict[str, str] | None = None

    def resolve(ref: str) -> Mapping:
        nonlocal by_name
        ref = str(ref)
        testcase_id = ref if is_id(ref) else None
        if testcase_id is None:
            if by_name is None:
                by_name = {}
                for module in Module.by_project.query(project_id):
                    if module.status == ACTIVE:
                        for summary in StoredTestcase.by_module.query(module.id):
                            by_name.setdefault(summary.name_lc, summary.id)
            testcase_id = by_name.get(ref.casefold())
        found = get_or_none(StoredTestcase, testcase_id) if testcase_id else None
        if found is None or found.project_id != project_id:
            raise TestcaseNotFound(f"no test case {ref!r} in this project")
        return found.document

    return resolve
