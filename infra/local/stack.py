"""The whole stack on one machine: emulator, provisioning, API, pollers, scheduler, sinks."""
from __future__ import annotations

import errno
import importlib
import logging
import os
import socket
import threading
from collections.abc import MutableMapping

from chalicelib.core.clock import Clock, utcnow
from infra.local.emulator import LOOPBACK, Emulator
from infra.local.outbox import Outbox
from infra.local.pollers import SqsPoller, pollers_for
from infra.local.provision import provision
from infra.local.scheduler import SchedulerEmulator
from infra.local.server import make_server
from infra.local.sinks import SmtpSink, TwilioStandIn

logger = logging.getLogger("hat.local")
DEFAULT_API_PORT = 8000
LOOPBACK_ALLOW = "127.0.0.0/8,::1/128"


def own_ports_denied(allow: str, ports: list[int]) -> str:
    """The outbound allow list with the stack's own ports closed again on loopback: runs may
    reach the developer's API there, never the emulator's tables, the mail and SMS
    stand-ins or this API itself (e.g. a debug step reading the users table)."""
    denials = [f"!127.0.0.0/8:{port},![::1]:{port}" for port in ports]
    return ",".join([allow, *denials]) if allow else ",".join(denials)


class PortInUse(RuntimeError):
    pass


def ensure_port_free(host: str, port: int) -> None:
    """PortInUse if something listens there. With SO_REUSEADDR, as the API server itself binds
    (http.server sets it), so the sockets a crashed `make dev` left in TIME_WAIT do not count."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {port} on {host} is already in use (another `make dev`?). "
                    f"Stop it, or run on another port: make dev HAT_PORT=8001"
                ) from error
            raise


def sink_environment(twilio: TwilioStandIn, smtp: SmtpSink, env: MutableMapping[str, str]) -> dict:
    """Point SMS/email at the local sinks, unless real credentials are configured."""
    values: dict[str, str] = {}
    if not env.get("TWILIO_AUTH_TOKEN"):
        values.update({
            "HAT_TWILIO_API_URL": twilio.url,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "local-twilio-token",
            "TWILIO_FROM_NUMBER": "+15005550006",
        })
    if not env.get("HAT_SMTP_HOST") and env.get("HAT_EMAIL_BACKEND", "smtp") == "smtp":
        values.update({
            "HAT_EMAIL_BACKEND": "smtp",
            "HAT_SMTP_HOST": smtp.host,
            "HAT_SMTP_PORT": str(smtp.port),
            "HAT_SMTP_SECURITY": "none",
            "HAT_EMAIL_FROM": "hat@localhost",
        })
    return values


class LocalStack:
    def __init__(self, *, host: str = LOOPBACK, port: int = DEFAULT_API_PORT, stage: str = "dev",
                 emulator_port: int = 0, clock: Clock = utcnow,
                 env: MutableMapping[str, str] = os.environ) -> None:
        self.host, self.port, self.stage = host, port, stage
        self.env = env
        self.clock = clock
        self.emulator = Emulator(host, emulator_port)
        self.outbox = Outbox()
        self.twilio = TwilioStandIn(self.outbox, host)
        self.smtp = SmtpSink(self.outbox, host)
        self.pollers: list[SqsPoller] = []
        self.scheduler: SchedulerEmulator | None = None
        self.app = None
        self._server = None
        self._server_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalStack:
        ensure_port_free(self.host, self.port)
        self.emulator.start()
        self.twilio.start()
        self.smtp.start()
        self.env.update(self.emulator.environment())
        self.env["HAT_STAGE"] = self.stage
        self.env["HAT_OUTBOUND_ALLOW"] = own_ports_denied(
            self.env.get("HAT_OUTBOUND_ALLOW", LOOPBACK_ALLOW),
            [self.port, self.emulator.port, self.twilio.port, self.smtp.port],
        )
        self.env.setdefault("HAT_PUBLIC_URL", self.url)
        self.env.update(sink_environment(self.twilio, self.smtp, self.env))

        from chalicelib.core.aws import get_client, reset_clients
        from chalicelib.core.settings import get_settings, reset_settings

        reset_settings()
        reset_clients()
        settings = get_settings()
        self.env.update(provision(get_client, stage=self.stage, region=settings.region))
        reset_settings()

        self.app = importlib.import_module("app").app
        self.pollers = [p.start() for p in pollers_for(self.app, get_client("sqs"), settings.region)]
        self.scheduler = SchedulerEmulator(get_client, settings.schedule_group, app=self.app,
                                           clock=self.clock, region=settings.region).start()
        self._server = make_server(self.app, self.stage, self.host, self.port, self.outbox)
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="api",
                                               daemon=True)
        self._server_thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.scheduler is not None:
            self.scheduler.stop()
        for poller in self.pollers:
            poller.stop()
        self.smtp.stop()
        self.twilio.stop()
        self.emulator.stop()
