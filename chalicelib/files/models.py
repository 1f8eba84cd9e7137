"""The project files table (`hat-<stage>-project-files`): one item per file, keyed by the
project and the file's path; the bytes are in the files bucket under `object_key`, a new
key per upload (a replacement never overwrites the bytes a committed item points to)."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.core.db import table_meta


class ProjectFile(Model):
    Meta = table_meta("project-files")

    project_id = UnicodeAttribute(hash_key=True)
    path = UnicodeAttribute(range_key=True)
    size = NumberAttribute()
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
