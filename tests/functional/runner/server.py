"""A small real HTTP server on 127.0.0.1 for the runner's functional tests.

Threaded stdlib server speaking HTTP/1.1 with keep-alive, so the runner's pooled client is
exercised for real. Routes are listed in ``Handler.do_GET``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    counters: dict[str, int] = {}
    lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # keep test output quiet

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: object, headers: list[tuple[str, str]] = ()) -> None:
        self._send(status, json.dumps(value).encode(),
                   [("Content-Type", "application/json"), *headers])

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        body = self._body()
        if path == "/json":
            self._json(200, {"ok": True, "items": [1, 2, 3], "user": {"id": 7, "name": "ann"},
                             "token": "tok-123", "empty": None})
        elif path == "/echo":
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            self._json(200, {
                "method": self.command, "path": path, "query": query, "raw_query": parts.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "json": parsed,
            })
        elif path.startswith("/status/"):
            self._json(int(path.rsplit("/", 1)[1]), {"status": path.rsplit("/", 1)[1]})
        elif path == "/login":
            user = json.loads(body or b"{}").get("user", "")
            self._json(200, {"user": user}, [("Set-Cookie", f"sid=s-{user}; Path=/")])
        elif path == "/logout":
            self._json(200, {}, [("Set-Cookie", "sid=; Path=/; Max-Age=0")])
        elif path == "/me":
            cookie = self.headers.get("Cookie") or ""
            sid = dict(p.split("=", 1) for p in cookie.split("; ") if "=" in p).get("sid")
            if sid:
                self._json(200, {"sid": sid})
            else:
                self._json(401, {"error": "no session"})
        elif path == "/redirect":
            status = int(query.get("status", "302"))
            cookie = [("Set-Cookie", f"{query['cookie']}; Path=/")] if "cookie" in query else []
            self._send(status, b"", [("Location", query["to"]), *cookie])
        elif path == "/text":
            self._send(200, b"plain words", [("Content-Type", "text/plain; charset=utf-8")])
        elif path == "/badjson":
            self._send(200, b'{"broken": ', [("Content-Type", "application/json")])
        elif path == "/slow":
            time.sleep(float(query.get("s", "1")))
            self._json(200, {"slow": True})
        elif path == "/stall":  # the headers and half the body, then a pause
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b'{"stall"')
            self.wfile.flush()
            time.sleep(float(query.get("s", "1")))
            self.wfile.write(b": 1}")
        elif path.startswith("/counter/"):
            with self.lock:
                count = self.counters.get(path, 0) + 1
                self.counters[path] = count
            self._json(200, {"count": count})
        elif path == "/big":
            self._send(200, b"x" * int(query.get("n", "100000")),
                       [("Content-Type", "text/plain")])
        else:
            self._json(404, {"error": "not found"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # a client that gave up (a timeout under test) closes mid-response: expected here
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LocalServer:
    def __init__(self) -> None:
        Handler.counters = {}
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
