"""Local stand-ins for Twilio's REST API and an SMTP server, feeding the outbox.

The app sends SMS with the real Twilio client and email with real SMTP; locally
only the endpoints point here. Tests use the same stand-ins (with injected
failures) to see exactly what the real clients put on the wire.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from infra.local.emulator import LOOPBACK, free_port
from infra.local.outbox import Outbox

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


class TwilioStandIn:
    """Answers POST /2010-04-01/Accounts/{sid}/Messages.json like api.twilio.com."""

    def __init__(self, outbox: Outbox, host: str = LOOPBACK, port: int = 0) -> None:
        self.outbox = outbox
        self.requests: list[dict] = []  # every request as received, for tests
        self.failures_left = 0
        self.failure_status = 500
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port or free_port(host)), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self.failures_left, self.failure_status = count, status

    def start(self) -> TwilioStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take_failure(self) -> int | None:
        with self._lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return self.failure_status
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                match = _MESSAGES_PATH.match(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                auth = self.headers.get("Authorization", "")
                user = ""
                if auth.startswith("Basic "):
                    user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                stand_in.requests.append({"path": self.path, "form": form, "user": user})
                if not match:
                    return self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                if not user:
                    return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                failure = stand_in._take_failure()
                if failure is not None:
                    return self._reply(failure, {"code": 20500, "message": "injected failure",
                                                 "status": failure})
                stand_in.outbox.add("sms", form.get("To", ""), form.get("Body", ""))
                self._reply(201, {
                    "sid": "SM" + uuid.uuid4().hex, "account_sid": match.group("sid"),
                    "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"),
                    "status": "queued", "num_segments": "1", "direction": "outbound-api",
                    "uri": self.path,
                })

        return Handler


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback; every message lands in the outbox."""

    def __init__(self, outbox: Outbox, host: str = LOOPBACK, port: int = 0) -> None:
        self.outbox = outbox
        self.host = host
        self.port = port or free_port(host)
        self.messages: list = []
        self._controller = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
                message = message_from_bytes(envelope.content, policy=policy.default)
                sink.messages.append(message)
                part = message.get_body(preferencelist=("plain", "html"))
                body = part.get_content() if part is not None else ""
                for recipient in envelope.rcpt_tos:
                    sink.outbox.add("email", recipient, body.strip(), subject=message["Subject"])
                return "250 OK"

        self._controller = Controller(Handler(), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
