"""The embedded AWS emulator: moto's server mode, in-process, on loopback.

boto3 and PynamoDB talk to it over HTTP with the real wire protocol; the only
difference from AWS is AWS_ENDPOINT_URL and dummy credentials.
"""
from __future__ import annotations

import socket
import threading
import urllib.request

LOOPBACK = "127.0.0.1"
LOCAL_REGION = "us-east-1"
_DYNAMODB_LOCK = threading.RLock()


def make_dynamodb_atomic() -> None:
    """Serialise the emulator's DynamoDB operations, as each is atomic on DynamoDB.

    moto's server is threaded and its DynamoDB backend is not: a TransactWriteItems
    snapshots and restores whole tables, so racing requests can lose each other's
    writes or let two conditional puts both pass, which DynamoDB never does. Requests
    still interleave freely between operations, so races in our code stay visible.
    """
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "hat_atomic", False):
        return
    call_action = DynamoHandler.call_action

    def atomic_call_action(self):
        with _DYNAMODB_LOCK:
            return call_action(self)

    atomic_call_action.hat_atomic = True
    DynamoHandler.call_action = atomic_call_action


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Emulator:
    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        from moto.server import ThreadedMotoServer

        make_dynamodb_atomic()
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Forget every resource and item (moto's reset API)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def environment(self) -> dict[str, str]:
        """What a process needs to point boto3/PynamoDB at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
        }
