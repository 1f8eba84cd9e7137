"""Issue 14, item 13: a method and path no route serves is a 404 in the API's error shape
on the local server (as the deployed API's gateway response gives), not 403 "Missing
Authentication Token"."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from chalicelib.core.http import UNKNOWN_ROUTE_BODY
from infra.local.emulator import free_port
from infra.local.outbox import Outbox
from infra.local.server import make_server


@pytest.fixture
def server_url(app):
    port = free_port()
    server = make_server(app, "local", "127.0.0.1", port, Outbox())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("method, path, headers", [
    ("GET", "/no/such/path", {}),
    ("POST", "/projects/x/y/z", {"Authorization": "Bearer abc"}),  # API Gateway's other 403 text
    ("DELETE", "/nothing-here", {}),  # (`/` itself is the console's redirect now)
])
def test_an_unknown_route_is_a_404_in_the_error_shape(server_url, method, path, headers):
    request = urllib.request.Request(server_url + path, method=method, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 404
    assert answer.value.headers["Content-Type"] == "application/json"
    assert json.loads(answer.value.read()) == UNKNOWN_ROUTE_BODY
    assert UNKNOWN_ROUTE_BODY["error"]["code"] == "not_found"


def test_a_known_route_still_answers(server_url):
    with urllib.request.urlopen(server_url + "/health", timeout=10) as answer:
        assert answer.status == 200
