"""A small real shop API on 127.0.0.1 that the import fixtures were recorded against.

The Postman collection, the HAR recording, the OpenAPI document and the cURL lines in
tests/fixtures/imports all talk to these routes, so every converted testcase can be run,
not only parsed. `/v1/...` is the pet store the OpenAPI document describes; with
`?broken=1` its answers break their schema (for the json_schema validator).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_PREFIX = "tok-"


class ShopHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    documents: dict[str, str] = {}  # GET /specs/<name>: what a re-sync test serves and changes

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: object, headers: list[tuple[str, str]] = ()) -> None:
        self._send(status, json.dumps(value).encode(), [("Content-Type", "application/json"), *headers])

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip()
        return token if token.startswith(TOKEN_PREFIX) else None

    def _cookies(self) -> dict[str, str]:
        cookie = self.headers.get("Cookie") or ""
        return dict(part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)

    def _form_or_json(self, body: bytes) -> dict:
        kind = self.headers.get("Content-Type") or ""
        if "json" in kind:
            return json.loads(body or b"{}")
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _route(self) -> None:  # noqa: C901 - one flat table of routes
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path, method = parts.path, self.command
        body = self._body()
        if path == "/health":
            self._json(200, {"status": "ok"})
        elif path.startswith("/specs/"):
            text = self.documents.get(path.removeprefix("/specs/"))
            if text is None:
                self._json(404, {"error": "no such document"})
            else:
                self._send(200, text.encode(), [("Content-Type", "application/yaml")])
        elif path.startswith("/echo"):
            self._echo(method, path, query, body)
        elif path == "/login" and method == "POST":
            data = self._form_or_json(body)
            user = data.get("user") or data.get("username") or ""
            if not user or data.get("password") == "wrong":
                self._json(401, {"error": "bad credentials"})
                return
            self._json(
                200,
                {"token": f"{TOKEN_PREFIX}{user}-123456", "user": {"id": 7, "name": user}},
                [("Set-Cookie", f"sid=s-{user}-session; Path=/"), ("X-Csrf-Token", "csrf-abcdef123")],
            )
        elif path == "/me":
            token = self._token()
            if token is None:
                self._json(401, {"error": "no token"})
            else:
                self._json(200, {"id": 7, "name": token.split("-")[1], "roles": ["buyer"]})
        elif path == "/orders" and method == "GET":
            if self._token() is None and "sid" not in self._cookies():
                self._json(401, {"error": "no token"})
                return
            self._json(
                200,
                {
                    "items": [{"id": "ord-000042", "total": 12.5, "status": query.get("status", "open")}],
                    "count": 1,
                },
                [("X-Request-Id", "req-1")],
            )
        elif path == "/orders" and method == "POST":
            data = self._form_or_json(body)
            self._json(201, {"id": "ord-000043", "status": "open", **data})
        elif path.startswith("/orders/") and path.endswith("/notes"):
            self._json(200, {"order": path.split("/")[2], "note": self._form_or_json(body)})
        elif path.startswith("/orders/"):
            order_id = path.split("/")[2]
            if method == "DELETE":
                self._send(204, b"")
            else:
                self._json(200, {"id": order_id, "total": 12.5, "status": "open"})
        elif path == "/graphql":
            document = json.loads(body or b"{}")
            self._json(
                200, {"data": {"query": document.get("query"), "variables": document.get("variables")}}
            )
        elif path == "/account":
            self._send(302, b"", [("Location", "/account/overview")])
        elif path == "/account/overview":
            sid = self._cookies().get("sid")
            self._send(
                200 if sid else 401, f"<h1>account {sid}</h1>".encode(), [("Content-Type", "text/html")]
            )
        elif path == "/":
            self._send(200, b"<html><body>shop</body></html>", [("Content-Type", "text/html")])
        elif path.startswith(("/v1/pets", "/v1/health", "/v1/external")):
            self._pets(path[3:], method, query, body)
        else:  # what the cURL lines from API docs reach: their request, echoed
            self._echo(method, path, query, body)

    def _echo(self, method: str, path: str, query: dict, body: bytes) -> None:
        self._json(
            200,
            {
                "method": method,
                "path": path,
                "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "cookies": self._cookies(),
            },
        )

    def _pets(self, path: str, method: str, query: dict, body: bytes) -> None:
        broken = query.get("broken") == "1" or self.headers.get("X-Break-Schema") == "1"
        if path == "/health":
            self._send(204, b"")
            return
        if self.headers.get("X-API-Key") != "key-123" and not self._token():
            self._json(401, {"code": 401, "message": "no key"})
            return
        pet = {"id": 7, "name": "rex", "tag": "dog", "kind": {"lives": 9}, "parent": None}
        if broken:
            pet = {"id": "seven", "name": 5}
        if path == "/pets" and method == "GET":
            self._json(200, [pet])
        elif path == "/pets" and method == "POST":
            data = json.loads(body or b"{}")
            self._json(201, {**pet, **{k: v for k, v in data.items() if k in ("name", "tag")}})
        elif path.startswith("/pets/") and path.endswith("/photo") and method == "POST":
            self._json(200, {"stored": len(body)})
        elif path == "/external":
            self._json(200, {"thing": True})
        elif path.startswith("/pets/") and method == "GET":
            self._json(
                200,
                {**pet, "id": int(path.split("/")[2]) if path.split("/")[2].isdigit() else pet["id"]}
                if not broken
                else pet,
            )
        elif path.startswith("/pets/") and method == "DELETE":
            self._send(204, b"")
        elif path.startswith("/pets/") and method == "PUT":
            self._json(200, pet)
        else:
            self._json(404, {"code": 404, "message": "no such route"})


class ShopServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ShopServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
