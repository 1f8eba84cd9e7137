"""Many test cases at once (imports), all or nothing.

An import writes its test cases (and, into a project, the modules they go in) in as few
TransactWriteItems as DynamoDB allows: each holds at most 100 items and 4 MB, so a batch
is up to 49 test cases (the case + its name claim each, the module's and the project's
counts), modules counting two items (the module + its claim) too. Every batch moves the
counts by exactly what it writes. Names that are taken get the first free " (2)" ... " (9)"
suffix (one BatchGetItem for the names, one more only if some clash). If a batch is
refused (a name claimed meanwhile, the module deleted, a member removed), the batches
already written are undone by their inverse transactions, so an import is all or nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime

from chalicelib.catalog.documents import checked_document
from chalicelib.catalog.models import (
    ACTIVE,
    Module,
    NameClaim,
    Project,
    StoredTestcase,
    module_claim,
    testcase_claim,
)
from chalicelib.catalog.schemas import MAX_NAME_CHARS
from chalicelib.catalog.views import module_view, testcase_summary, testcase_view
from chalicelib.catalog.visibility import live_module, load_module, load_project, member_of, not_found
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import Cancelled, Tx, get_many
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import fold, new_id, sort_key

logger = logging.getLogger("hat.catalog")

TRANSACTION_ITEMS = 100  # DynamoDB's limit
IMPORT_BYTES_PER_TRANSACTION = 3 * 1024 * 1024  # DynamoDB's 4 MB per transaction, with room for keys
NAME_SUFFIXES = range(2, 10)


def _free_names(wanted: list[str], claim_of, what: str) -> list[str]:
    """`wanted` (unique among themselves, case-insensitively) with taken ones suffixed."""
    claims = get_many([(NameClaim, claim_of(fold(name))) for name in wanted])
    clashes = [name for name, claim in zip(wanted, claims, strict=True) if claim is not None]
    if not clashes:
        return wanted
    planned = {fold(name) for name in wanted}
    candidates = {name: [_suffixed(name, n) for n in NAME_SUFFIXES] for name in clashes}
    flat = [c for name in clashes for c in candidates[name] if fold(c) not in planned]
    taken = {key for key, claim in zip(flat, get_many([(NameClaim, claim_of(fold(c))) for c in flat]),
                                       strict=True) if claim is not None}
    renamed = {}
    for name in clashes:
        free = next((c for c in candidates[name] if c not in taken and fold(c) not in planned), None)
        if free is None:
            raise Conflict(f"a {what} named {name!r} and its suffixed names up to (9) already exist",
                           code="name_taken", fields={"name": name})
        planned.add(fold(free))
        renamed[name] = free
    return [renamed.get(name, name) for name in wanted]


def _suffixed(name: str, number: int) -> str:
    suffix = f" ({number})"
    return name[:MAX_NAME_CHARS - len(suffix)] + suffix


class _Batch:
    """One TransactWriteItems of an import, and how to undo it."""

    def __init__(self) -> None:
        self.modules: list[Module] = []
        self.testcases: list[StoredTestcase] = []
        self.bytes = 0

    def items(self) -> int:
        return 2 * (len(self.modules) + len(self.testcases))

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        new = {m.id for m in self.modules}
        for testcase in self.testcases:
            if testcase.module_id not in new:
                counts[testcase.module_id] = counts.get(testcase.module_id, 0) + 1
        return counts

    def commit(self, user: User, project_id: str) -> None:
        tx = Tx()
        for module in self.modules:
            tx.put(f"module:{module.id}", module, Module.id.does_not_exist())
            claim = NameClaim(module_claim(project_id, module.name_lc), target_id=module.id)
            tx.put(f"module_name:{module.id}", claim, NameClaim.key.does_not_exist())
        for testcase in self.testcases:
            tx.put(f"testcase:{testcase.id}", testcase, StoredTestcase.id.does_not_exist())
            tx.put(f"name:{testcase.id}", NameClaim(testcase_claim(testcase.module_id, testcase.name_lc),
                                                    target_id=testcase.id), NameClaim.key.does_not_exist())
        for module_id, count in self.counts().items():
            tx.update(f"count:{module_id}", Module(module_id), [Module.testcase_count.add(count)],
                      Module.status == ACTIVE)
        tx.update("project", Project(project_id), [Project.module_count.add(len(self.modules)),
                                                   Project.testcase_count.add(len(self.testcases))],
                  member_of(user))
        tx.commit(retries=1)

    def undo(self, project_id: str) -> None:
        tx = Tx()
        for testcase in self.testcases:
            tx.delete(f"testcase:{testcase.id}", StoredTestcase(testcase.id))
            tx.delete(f"name:{testcase.id}", NameClaim(testcase_claim(testcase.module_id, testcase.name_lc)))
        for module in self.modules:
            tx.delete(f"module:{module.id}", Module(module.id))
            tx.delete(f"module_name:{module.id}", NameClaim(module_claim(project_id, module.name_lc)))
        for module_id, count in self.counts().items():
            tx.update(f"count:{module_id}", Module(module_id), [Module.testcase_count.add(-count)])
        tx.update("project", Project(project_id), [Project.module_count.add(-len(self.modules)),
                                                   Project.testcase_count.add(-len(self.testcases))])
        tx.commit(retries=1)


def _write_batches(user: User, project_id: str, batches: list[_Batch], what: str) -> None:
    done: list[_Batch] = []
    for batch in batches:
        try:
            batch.commit(user, project_id)
        except Exception as error:  # whatever stopped it (a refusal, throttling, AWS), undo the rest
            for written in reversed(done):
                try:
                    written.undo(project_id)
                except Exception:  # noqa: BLE001 - logged; the answer still says the import failed
                    logger.exception("could not undo part of an import into %s", project_id)
            if not isinstance(error, Cancelled):
                raise
            if any(error.failed(label) for label in error.codes if label.startswith(("name", "module_name"))):
                raise Conflict(f"a name was taken while the {what} was written; nothing was imported",
                               code="concurrent_change") from None
            raise not_found(what) from None
        done.append(batch)


def _batched(modules: list[Module], testcases: list[tuple[StoredTestcase, int]]) -> list[_Batch]:
    """Modules first (each before its test cases), packed by item count and bytes."""
    batches = [_Batch()]
    for module in modules:
        if batches[-1].items() + 2 + 1 > TRANSACTION_ITEMS:  # + the project's counts
            batches.append(_Batch())
        batches[-1].modules.append(module)
    for testcase, size in testcases:
        batch = batches[-1]
        # its two items, the project's counts, and the module's count (at most one more)
        if batch.items() + 2 + 1 + len(batch.counts()) + 1 > TRANSACTION_ITEMS \
                or batch.bytes + size > IMPORT_BYTES_PER_TRANSACTION:
            batch = _Batch()
            batches.append(batch)
        batch.testcases.append(testcase)
        batch.bytes += size
    return [b for b in batches if b.items()]


def _new_testcase(module: Module, name: str, checked: tuple[object, int, int],
                  now: datetime, testcase_id: str | None = None) -> StoredTestcase:
    document, size, steps = checked
    testcase_id = testcase_id or new_id()
    return StoredTestcase(testcase_id, module_id=module.id, project_id=module.project_id, name=name,
                          name_lc=fold(name), document=document, step_count=steps, size_bytes=size,
                          created_at=now, updated_at=now, sort_key=sort_key(now, testcase_id))


def create_testcases(user: User, module_id: str, items: list[tuple[str, object]], *,
                     clock: Clock, ids: list[str] | None = None) -> list[dict]:
    """Many test cases into one module: `items` are (name, document), names unique among
    themselves; `ids`, when given, are theirs (a caller that recorded them first can tell,
    after a crash, which were written). GetItem (module), BatchGetItem of the names (two if
    some clash), then one TransactWriteItems per 49 test cases (or 3 MB), each item written
    only where its id is free. Answers their summaries, in order."""
    checked = [checked_document(document, prefix=f"testcases[{i}]") for i, (_, document) in enumerate(items)]
    module = live_module(module_id)
    names = _free_names([name for name, _ in items], lambda lc: testcase_claim(module.id, lc), "testcase")
    now = clock()
    given = ids if ids is not None else [None] * len(items)
    testcases = [(_new_testcase(module, name, check, now, testcase_id), check[1])
                 for name, check, testcase_id in zip(names, checked, given, strict=True)]
    _write_batches(user, module.project_id, _batched([], testcases), "module")
    return [testcase_summary(t) for t, _ in testcases]


def create_modules_with_testcases(user: User, project_id: str,
                                  groups: list[tuple[str, list[tuple[str, object]]]], *,
                                  clock: Clock) -> list[dict]:
    """New modules, each with its test cases: `groups` are (module name, [(name, document)]),
    module names unique among themselves, test case names unique within their module.
    GetItem (project), BatchGetItem of the module names (two if some clash), then one
    TransactWriteItems per 49 modules + test cases. Answers the modules, each with its
    test cases' summaries under "testcases"."""
    project = load_project(user, project_id)
    checked = [[checked_document(document, prefix=f"modules[{g}].testcases[{i}]")
                for i, (_, document) in enumerate(items)] for g, (_, items) in enumerate(groups)]
    names = _free_names([name for name, _ in groups], lambda lc: module_claim(project.id, lc), "module")
    now = clock()
    modules, testcases, views = [], [], []
    for name, (_, items), checks in zip(names, groups, checked, strict=True):
        module_id = new_id()
        module = Module(module_id, project_id=project.id, name=name, name_lc=fold(name),
                        description="imported", testcase_count=len(items), created_at=now, updated_at=now,
                        sort_key=sort_key(now, module_id), status=ACTIVE)
        own = [(_new_testcase(module, tc_name, check, now), check[1])
               for (tc_name, _), check in zip(items, checks, strict=True)]
        modules.append(module)
        testcases += own
        views.append({**module_view(module), "testcases": [testcase_summary(t) for t, _ in own]})
    batches = _batched(modules, testcases)
    _fix_new_module_counts(batches)
    _write_batches(user, project.id, batches, "project")
    return views


def _fix_new_module_counts(batches: list[_Batch]) -> None:
    """A new module is written with the count of its test cases in its own batch; later
    batches ADD theirs (so the count is exact after every batch)."""
    written_in: dict[str, _Batch] = {}
    for batch in batches:
        for module in batch.modules:
            written_in[module.id] = batch
    for module_id, batch in written_in.items():
        module = next(m for m in batch.modules if m.id == module_id)
        module.testcase_count = sum(1 for t in batch.testcases if t.module_id == module_id)


def testcases_in_module(user: User, module_id: str, testcase_ids: list[str]) -> tuple[dict, dict[str, dict]]:
    """The module and those of `testcase_ids` still in it, with their documents (for an
    import's re-sync): two GetItems (module, project), one BatchGetItem per 100 ids."""
    module, _project = load_module(user, module_id)
    found = get_many([(StoredTestcase, testcase_id) for testcase_id in testcase_ids]) if testcase_ids else []
    return module_view(module), {t.id: testcase_view(t) for t in found
                                 if t is not None and t.module_id == module.id}
