"""Alert channels in request bodies: catalog/schemas.py's now (a project stores them).

Re-exported here only for schedules/schemas.py until the lead points it at catalog/schemas.py
(to be removed at merge).
"""
from chalicelib.catalog.schemas import Alerts  # noqa: F401
