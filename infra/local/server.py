"""The Chalice app on Chalice's local server, plus the local-only outbox route."""
from __future__ import annotations

import functools
import json
import threading
from pathlib import Path

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalGatewayException, ThreadedHTTPServer

from chalicelib.core.http import UNKNOWN_ROUTE_BODY, UNKNOWN_ROUTE_STATUS
from infra.local.outbox import Outbox

PROJECT_DIR = Path(__file__).resolve().parents[2]
OUTBOX_PATH = "/_local/outbox"
# Chalice keeps the current request on the app object (one request per Lambda container),
# so concurrent requests in one process would read each other's: serve one at a time.
_ONE_REQUEST_AT_A_TIME = threading.Lock()


def chalice_config(stage: str) -> Config:
    config_from_disk = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return Config(chalice_stage=stage, config_from_disk=config_from_disk,
                  default_params={"project_dir": str(PROJECT_DIR)})


class LocalRequestHandler(ChaliceRequestHandler):
    """Chalice's handler; `GET /_local/outbox` is answered here and never reaches the app."""

    def __init__(self, request, client_address, server, *, app_object: Chalice, config: Config,
                 outbox: Outbox) -> None:
        self.outbox = outbox
        super().__init__(request, client_address, server, app_object=app_object, config=config)

    def _generic_handle(self) -> None:
        if self.command == "GET" and self.path.split("?", 1)[0] == OUTBOX_PATH:
            body = json.dumps({"items": self.outbox.items()})
            self._send_http_response(200, {"Content-Type": "application/json"}, body)
            return
        with _ONE_REQUEST_AT_A_TIME:
            super()._generic_handle()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        # Chalice's local gateway raises ForbiddenError for a path no route matches (the app
        # has no authorizers): answer as the deployed API's gateway response does.
        if isinstance(error, ForbiddenError):
            self._send_http_response(UNKNOWN_ROUTE_STATUS, {"Content-Type": "application/json"},
                                     json.dumps(UNKNOWN_ROUTE_BODY))
            return
        super()._send_error_response(error)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle


def make_server(app: Chalice, stage: str, host: str, port: int, outbox: Outbox) -> ThreadedHTTPServer:
    handler = functools.partial(LocalRequestHandler, app_object=app, config=chalice_config(stage),
                                outbox=outbox)
    return ThreadedHTTPServer((host, port), handler)
