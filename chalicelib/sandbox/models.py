"""A project's debugtalk.py: one item per project (the source fits an item: 64 KB at most)."""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.core.db import table_meta


class Debugtalk(Model):
    Meta = table_meta("debugtalk")

    project_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(default=0)  # +1 at every save (ADD), named by the reports run with it
    source = UnicodeAttribute()
    functions = ListAttribute(of=UnicodeAttribute, default=list)  # read with ast, never run here
    sha256 = UnicodeAttribute()
    size_bytes = NumberAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()
