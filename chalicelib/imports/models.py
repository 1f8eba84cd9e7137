"""The import-sources table: what an OpenAPI import from a URL remembers for its re-sync."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.core.db import table_meta


class ImportSource(Model):
    """One per module: the URL and, per operation key ("GET /pets/{id}"), the test case made
    from it and the SHA-256 of its document as imported (a different hash now: a user edited it)."""

    Meta = table_meta("import-sources")

    module_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    url = UnicodeAttribute()
    format = UnicodeAttribute()
    options = JSONAttribute(default=dict)
    operations = JSONAttribute(default=dict)  # key -> {"testcase_id", "sha256"}
    version = NumberAttribute(default=0)  # each sync writes under the version it read
    # While a sync is at work: until when it holds the module (a crashed sync's claim lapses).
    syncing_until = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    synced_at = UTCDateTimeAttribute()
