"""The local stack started exactly as `make dev` starts it, in a subprocess."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from infra.local.emulator import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 20


@dataclass
class RunningStack:
    url: str
    emulator_url: str
    process: subprocess.Popen

    def boto3_client(self, service: str):
        import boto3

        return boto3.session.Session().client(
            service, endpoint_url=self.emulator_url, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local")


@pytest.fixture(scope="session")
def stack():
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "HAT_", "TWILIO_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--port", str(port)], cwd=PROJECT_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    emulator_url = None
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"AWS emulator\s+(\S+)", line)
        if match:
            emulator_url = match.group(1)
            break
    if emulator_url is None:
        process.kill()
        pytest.fail("local stack did not start:\n" + "".join(lines))
    # Keep reading its output so the pipe never fills and blocks the stack.
    import threading

    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    yield RunningStack(f"http://127.0.0.1:{port}", emulator_url, process)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session
