"""Where the console is mounted, read from the caller's path (no I/O)."""
import pytest

from chalicelib.console.routes import request_base


@pytest.mark.parametrize("called, route, base", [
    ("/", "/", ""),
    ("/ui/", "/ui", ""),
    ("/ui/projects/p1", "/ui/{first}/{second}", ""),
    ("/api/", "/", "/api"),
    ("/api/ui", "/ui", "/api"),
    ("/api/ui/projects/p1/settings", "/ui/{first}/{second}/{third}", "/api"),
    ("/v1/hat/ui/tasks", "/ui/{first}", "/v1/hat"),
    ("", "/ui", ""),
])
def test_the_base_is_what_precedes_the_matched_route(called, route, base):
    assert request_base(called, route) == base

