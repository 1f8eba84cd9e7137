"""The API keys table (`hat-<stage>-api-keys`, one table, two kinds of items).

- `hash#<SHA-256 hex of the key>`: the key as a request finds it (the plain key is never
  stored): its project, scopes, expiry, the creator's user snapshot (so a request needs no
  user read), `last_used_at`, and the rate counters `w<window>` (attributes named by data,
  written by raw UpdateItem in service.py). Index `by-project` (project_id, sort_key)
  lists a project's keys, newest first; `by-user` (created_by, sort_key) a user's.
- `id#<key id>`: the pointer a revoke names (`DELETE /projects/{id}/keys/{key_id}`), written
  and deleted in the same transaction as its hash item; it has no sort_key, so the index
  never shows it.
Expiring keys carry `expires_ttl` (epoch seconds) for DynamoDB's lazy TTL; expiry is also a
condition of every use.
"""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.core.db import table_meta

HASH_PREFIX = "hash#"
ID_PREFIX = "id#"


class KeysByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-project"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class KeysByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-user"
        projection = IncludeProjection(["id"])

    created_by = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class ApiKey(Model):
    Meta = table_meta("api-keys")

    key = UnicodeAttribute(hash_key=True)  # "hash#<sha256>" or "id#<key id>"
    id = UnicodeAttribute()
    project_id = UnicodeAttribute()
    key_hash = UnicodeAttribute(null=True)  # on the id pointer: its hash item's key
    name = UnicodeAttribute(null=True)
    scopes = UnicodeSetAttribute(null=True)
    created_by = UnicodeAttribute(null=True)  # user id
    user = JSONAttribute(null=True)  # the creator's public user, what a request acts as
    created_at = UTCDateTimeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    last_used_at = UTCDateTimeAttribute(null=True)
    sort_key = UnicodeAttribute(null=True)  # hash items only: "<created>#<id>"
    expires_ttl = TTLAttribute(null=True)
    by_project = KeysByProject()
    by_user = KeysByUser()
