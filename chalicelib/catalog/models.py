"""Catalog tables: projects, memberships, modules, test cases and name claims.

Every read a route needs is a GetItem by id or a Query on a key or index:
- `projects`      id -> the project, its member ids (for condition checks) and exact counts.
- `memberships`   (user_id, sort_key) -> one row per project a user belongs to, sorted by
                  the project's creation ("my projects, newest first" is one Query).
- `modules`       id -> module; index `by-project` (project_id, sort_key) lists a project's.
- `testcases`     id -> test case (the HttpRunner document); index `by-module`
                  (module_id, sort_key) lists a module's, without the documents.
- `catalog-names` key -> a claim on a name ("project#<owner>#<name>", "module#<project>#<name>",
                  "testcase#<module>#<name>"), written in the same transaction as the item,
                  so uniqueness holds under races.
Projects and modules being deleted carry `cleanup = "pending"`, which puts them in the sparse
`pending-cleanup` index the reaper reads; the API hides them at once.
"""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core.db import table_meta

ACTIVE = "active"
DELETING = "deleting"
PENDING = "pending"


class PendingCleanup(GlobalSecondaryIndex):
    """Sparse: only items being deleted have `cleanup`; the reaper finds stuck ones here."""

    class Meta:
        index_name = "pending-cleanup"
        projection = KeysOnlyProjection()

    cleanup = UnicodeAttribute(hash_key=True)
    deleting_at = UnicodeAttribute(range_key=True)


class Project(Model):
    Meta = table_meta("projects")

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    name_lc = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    owner_id = UnicodeAttribute()
    member_ids = UnicodeSetAttribute()  # the owner too; condition checks read it
    members_version = NumberAttribute(default=0)  # bumped whenever membership rows change
    module_count = NumberAttribute(default=0)
    testcase_count = NumberAttribute(default=0)
    environments = JSONAttribute(default=dict)  # secrets in it sealed (catalog/secrets.py)
    environments_version = NumberAttribute(null=True)  # ADDed on every write of environments
    secrets_key = UnicodeAttribute(null=True)  # the KMS ciphertext of the secrets' data key
    file_count = NumberAttribute(null=True)  # project files (chalicelib/files), ADDed as they come and go
    notify = JSONAttribute(null=True)  # runs' default recipients (catalog.schemas.Notify)
    callback_url = UnicodeAttribute(null=True)  # runs' default callback
    alerts = JSONAttribute(null=True)  # default alert channels (notify/alerts.py; secrets sealed)
    # CI webhook secret = core.signing.webhook_secret(project, salt): never stored itself.
    webhook_salt = UnicodeAttribute(null=True)
    webhook_previous_salt = UnicodeAttribute(null=True)  # still verifies for a grace period
    webhook_rotated_at = UTCDateTimeAttribute(null=True)
    # Which GitHub/GitLab deliveries start which run (runs/hooks.py); None: the defaults.
    hook_rules = JSONAttribute(null=True)
    github_token_at = UTCDateTimeAttribute(null=True)  # set: a token is in SSM (runs/github.py)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sort_key = UnicodeAttribute()  # "<created, microseconds>#<id>": newest-first order
    status = UnicodeAttribute(default=ACTIVE)
    cleanup = UnicodeAttribute(null=True)
    deleting_at = UnicodeAttribute(null=True)
    pending_cleanup = PendingCleanup()


class Membership(Model):
    """The caller's side of a project: what "my projects" queries."""

    Meta = table_meta("memberships")

    user_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)  # the project's sort_key
    project_id = UnicodeAttribute()
    name_lc = UnicodeAttribute()  # the project's, for ?name= filters
    username = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | member
    added_at = UTCDateTimeAttribute()


class ModulesByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-project"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class Module(Model):
    Meta = table_meta("modules")

    id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    name = UnicodeAttribute()
    name_lc = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    testcase_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sort_key = UnicodeAttribute()
    status = UnicodeAttribute(default=ACTIVE)
    cleanup = UnicodeAttribute(null=True)
    deleting_at = UnicodeAttribute(null=True)
    by_project = ModulesByProject()
    pending_cleanup = PendingCleanup()


TESTCASE_SUMMARY_ATTRIBUTES = ["project_id", "name", "name_lc", "step_count", "size_bytes",
                               "created_at", "updated_at"]


class TestcasesByModule(GlobalSecondaryIndex):
    """Summaries only: a list page never carries the (up to 256 KB) documents."""

    class Meta:
        index_name = "by-module"
        projection = IncludeProjection(TESTCASE_SUMMARY_ATTRIBUTES)

    module_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class StoredTestcase(Model):
    __test__ = False

    Meta = table_meta("testcases")

    id = UnicodeAttribute(hash_key=True)
    module_id = UnicodeAttribute()
    project_id = UnicodeAttribute()
    name = UnicodeAttribute()
    name_lc = UnicodeAttribute()
    document = JSONAttribute(null=True)  # absent in index results
    step_count = NumberAttribute(default=0)
    size_bytes = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sort_key = UnicodeAttribute()
    by_module = TestcasesByModule()


class NameClaim(Model):
    Meta = table_meta("catalog-names")

    key = UnicodeAttribute(hash_key=True)
    target_id = UnicodeAttribute()


def project_claim(owner_id: str, name_lc: str) -> str:
    return f"project#{owner_id}#{name_lc}"


def module_claim(project_id: str, name_lc: str) -> str:
    return f"module#{project_id}#{name_lc}"


def testcase_claim(module_id: str, name_lc: str) -> str:
    return f"testcase#{module_id}#{name_lc}"
