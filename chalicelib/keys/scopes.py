"""Which routes an API key may call, and with which scope (API.md "API keys").

`read`: the GETs of a project's things; `run`: start runs; `write`: change modules and test
cases. A route that is not here never takes a key (401): accounts, the caller's project
list and dashboard, creating or deleting projects, members, secrets, webhook rules, keys
themselves, and task changes: those stay with people. Routes added later start closed.
"""
from __future__ import annotations

READ, RUN, WRITE = "read", "run", "write"
SCOPES = (READ, RUN, WRITE)
ANY = "any"  # a key of any scope (GET /keys/current: which key am I?)

ROUTE_SCOPES: dict[tuple[str, str], str] = {
    ("GET", "/keys/current"): ANY,
    # read
    ("GET", "/projects/{project_id}"): READ,
    ("GET", "/projects/{project_id}/modules"): READ,
    ("GET", "/projects/{project_id}/reports"): READ,
    ("GET", "/projects/{project_id}/hook-rules"): READ,
    ("GET", "/projects/{project_id}/files"): READ,
    ("GET", "/projects/{project_id}/debugtalk"): READ,
    ("GET", "/modules/{module_id}"): READ,
    ("GET", "/modules/{module_id}/testcases"): READ,
    ("GET", "/testcases/{testcase_id}"): READ,
    ("GET", "/testcases/{testcase_id}/history"): READ,
    ("GET", "/reports/{report_id}"): READ,
    ("GET", "/reports/{report_id}/junit"): READ,
    ("GET", "/tasks/{task_id}"): READ,
    ("GET", "/tasks/{task_id}/history"): READ,
    # run
    ("POST", "/projects/{project_id}/runs"): RUN,
    ("POST", "/modules/{module_id}/runs"): RUN,
    ("POST", "/testcases/{testcase_id}/runs"): RUN,
    ("POST", "/testcases/debug"): RUN,
    ("POST", "/tasks/{task_id}/runs"): RUN,
    # write
    ("POST", "/projects/{project_id}/modules"): WRITE,
    ("PATCH", "/modules/{module_id}"): WRITE,
    ("DELETE", "/modules/{module_id}"): WRITE,
    ("POST", "/modules/{module_id}/testcases"): WRITE,
    ("POST", "/modules/{module_id}/testcases/import"): WRITE,
    ("POST", "/modules/{module_id}/import"): WRITE,
    ("POST", "/modules/{module_id}/import/sync"): WRITE,
    ("POST", "/projects/{project_id}/import"): WRITE,
    ("PUT", "/testcases/{testcase_id}"): WRITE,
    ("DELETE", "/testcases/{testcase_id}"): WRITE,
    ("PUT", "/projects/{project_id}/files"): WRITE,
    ("DELETE", "/projects/{project_id}/files"): WRITE,
    ("PUT", "/projects/{project_id}/debugtalk"): WRITE,
    ("DELETE", "/projects/{project_id}/debugtalk"): WRITE,
}


def scope_for(method: str, route: str) -> str | None:
    """The scope a key needs for this route, or None: no key may call it."""
    return ROUTE_SCOPES.get((method.upper(), route))
