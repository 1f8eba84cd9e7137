"""A local stand-in of the chat providers' incoming-webhook APIs (Slack, Teams Workflows, Feishu,
DingTalk, WeCom, a generic webhook): one HTTP server on loopback, a path per provider, that
records every request and answers what the test queued (default: 200 with the success body
each provider documents)."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

OK_BODIES = {"slack": "ok", "teams": "", "feishu": {"code": 0, "msg": "success"},
             "dingtalk": {"errcode": 0, "errmsg": "ok"}, "wecom": {"errcode": 0, "errmsg": "ok"}, "hook": ""}


@dataclass
class Received:
    provider: str
    query: dict
    headers: dict
    raw: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw)


@dataclass
class ChatStandIn:
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)  # provider -> statuses to answer next

    def start(self) -> ChatStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                provider = parts.path.strip("/")
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stand_in.received.append(Received(provider, dict(parse_qsl(parts.query)),
                                                  {k.lower(): v for k, v in self.headers.items()}, raw))
                queued = stand_in.answers.get(provider) or []
                status = queued.pop(0) if queued else 200
                value = OK_BODIES.get(provider, "") if status == 200 else {"error": "down"}
                body = (value if isinstance(value, str) else json.dumps(value)).encode()
                self.send_response(status)
                kind = "text/plain" if isinstance(value, str) else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, provider: str) -> list[Received]:
        return [r for r in self.received if r.provider == provider]
