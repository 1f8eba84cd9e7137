"""The sandbox edge: where a project's debugtalk.py runs, behind one interface.

- ``LocalSandbox`` (``make dev``, tests): a fresh Python process per invocation, with an
  empty environment, a working directory of its own (mode 700, removed afterwards), limits
  on CPU time, address space, file size and open files, no new processes or threads
  (``RLIMIT_NPROC`` 0, under a user id of its own when we run as root, since root ignores
  that limit; taken once the process has loaded the runner), a umask of 077, and killed
  with its process group at the deadline.
- ``LambdaSandbox`` (AWS): one Lambda function per project (CreateFunction /
  UpdateFunctionCode when its debugtalk.py is saved, Invoke per run), the runner in a
  shared layer, an execution role that may only write its logs, reserved concurrency; the
  report comes back through a presigned S3 PUT URL made here.

``default_gateway()`` picks one by ``HAT_SANDBOX_BACKEND`` (process | lambda), as the email
backend is picked; services take a gateway injected, so tests can hand them either.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import logging
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chalicelib.sandbox.process import DEBUGTALK_FILE, VERSION_FILE

logger = logging.getLogger("hat.sandbox")

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_REPORT_BYTES = 64 * 1024 * 1024  # what we read back of a sandbox's report
MAX_STDERR_CHARS = 2000  # of the user's prints, kept for a crash message
GRACE_SECONDS = 5.0  # past the run's deadline before the sandbox is killed
SANDBOX_UIDS = (200_000, 1_000_000)  # user ids the local sandbox runs as, when we are root
HANDLER = "chalicelib.sandbox.process.handler"
REPORT_FILE, PRINTS_FILE = ".report.json", ".prints.log"  # in its directory, written by it
REPORTS_PREFIX = "sandbox-reports/"  # in the reports bucket; each report read once, deleted
RUNS_PREFIX = "sandbox-runs/"  # payloads over Invoke's limit, deleted once the run is over
MAX_INVOKE_PAYLOAD_BYTES = 5 * 1024 * 1024  # of Lambda's 6 MB for a synchronous Invoke
# the sandbox process finds the runner by the repository root it is given, not by a
# PYTHONPATH (its environment is empty) nor by its working directory (the user's)
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from chalicelib.sandbox.process import main; sys.exit(main(sys.argv[2]))")


class SandboxFailed(Exception):
    """The sandbox gave no report: ``kind`` is timeout, memory, crashed or unavailable."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class SandboxRun:
    """One invocation: the testcases to run and everything they may see."""

    testcases: list[dict[str, Any]]
    references: dict[str, Any]  # testcase: <ref> -> document, resolved by the worker
    environment: dict[str, Any]
    deadline_seconds: float
    concurrency: int
    outbound_allow: list[str]
    call_seconds: float  # one debugtalk.py call's budget
    source: str = ""  # debugtalk.py (the local sandbox gets it per run)
    version: int = 0
    max_report_chars: int | None = None  # the engine's bound on the report, if the run has one

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {
            "testcases": self.testcases, "references": self.references,
            "environment": self.environment, "deadline_seconds": self.deadline_seconds,
            "concurrency": self.concurrency, "outbound_allow": self.outbound_allow,
            "call_seconds": self.call_seconds, "max_report_chars": self.max_report_chars,
            **extra,
        }


class SandboxGateway(Protocol):
    def deploy(self, project_id: str, source: str, version: int) -> None:
        """Make the project's sandbox run this debugtalk.py from now on."""

    def remove(self, project_id: str) -> None:
        """The project has no debugtalk.py any more."""

    def invoke(self, project_id: str, run: SandboxRun) -> dict[str, Any]:
        """The run's report; SandboxFailed when the sandbox gave none."""


@dataclass
class Limits:
    cpu_seconds: int = 60
    memory_bytes: int = 1024 * 1024 * 1024
    file_bytes: int = MAX_REPORT_BYTES  # any file it writes, its report and prints included
    open_files: int = 256


@dataclass
class _Started:
    """A sandbox process started ahead of its run: its own directory and user id."""

    process: subprocess.Popen
    workdir: Path
    uid: int | None
    report: Any  # the worker's own handles on what it writes: it may unlink the files
    prints: Any

    def discard(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for stream in (self.process.stdin, self.report, self.prints):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class LocalSandbox:
    """``spares``: processes started ahead (each serves ONE run, then is gone), so a run
    does not wait for an interpreter and the runner's imports."""

    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable
    spares: int = 1
    _ready: list[_Started] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        atexit.register(self.close)

    def deploy(self, project_id: str, source: str, version: int) -> None:
        pass  # the source travels with each invocation

    def remove(self, project_id: str) -> None:
        pass

    def close(self) -> None:
        """End the processes started ahead (at exit: they would wait on their stdin)."""
        with self._lock:
            ready, self._ready = self._ready, []
        for started in ready:
            started.discard()

    def invoke(self, project_id: str, run: SandboxRun) -> dict[str, Any]:
        started = self._take()
        try:
            (started.workdir / DEBUGTALK_FILE).write_text(run.source, encoding="utf-8")
            if started.uid is not None:
                os.chown(started.workdir / DEBUGTALK_FILE, started.uid, started.uid)
            return self._finish(started, run)
        finally:
            started.discard()
            self._refill()  # after the run, so the next one's start does not slow it

    def _take(self) -> _Started:
        with self._lock:
            while self._ready:
                started = self._ready.pop(0)
                if started.process.poll() is None:
                    return started
                started.discard()
        return self._start()

    def _refill(self) -> None:
        with self._lock:
            missing = self.spares - len(self._ready)
        for _ in range(missing):
            started = self._start()
            with self._lock:
                self._ready.append(started)

    def _start(self) -> _Started:
        as_root = os.geteuid() == 0
        uid = (secrets.randbelow(SANDBOX_UIDS[1] - SANDBOX_UIDS[0]) + SANDBOX_UIDS[0]
               if as_root else None)
        workdir = Path(tempfile.mkdtemp(prefix="hat-sandbox-"))
        if uid is not None:
            os.chown(workdir, uid, uid)
        os.chmod(workdir, 0o700)
        limits = self.limits
        # files, not pipes, so that RLIMIT_FSIZE bounds what the worker reads back: a
        # process printing without end could otherwise fill the worker's memory
        report = open(workdir / REPORT_FILE, "w+b")  # noqa: SIM115 - kept in _Started
        prints = open(workdir / PRINTS_FILE, "w+b")  # noqa: SIM115

        def confine() -> None:  # in the child, between fork and exec: no imports, no locks
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.umask(0o077)
            # the user id and RLIMIT_NPROC come later, in the process itself, once it has
            # loaded what it needs (process.drop_privileges)

        process = subprocess.Popen(  # noqa: S603 - our interpreter, our boot line
            [self.python, "-I", "-c", _BOOT, str(REPO_ROOT), "-" if uid is None else str(uid)],
            stdin=subprocess.PIPE, stdout=report, stderr=prints,
            cwd=workdir, env={}, preexec_fn=confine, start_new_session=True,  # noqa: PLW1509
        )
        return _Started(process, workdir, uid, report, prints)

    def _finish(self, started: _Started, run: SandboxRun) -> dict[str, Any]:
        process = started.process
        payload = json.dumps(run.payload(), default=str).encode()
        try:
            process.communicate(payload, timeout=run.deadline_seconds + GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SandboxFailed(
                f"the sandbox did not finish within {run.deadline_seconds + GRACE_SECONDS:g} s "
                "and was stopped", "timeout") from None
        started.report.seek(0)
        out = started.report.read(MAX_REPORT_BYTES + 1)
        prints = started.prints
        prints.seek(max(0, os.fstat(prints.fileno()).st_size - MAX_STDERR_CHARS))
        return _report(out, process.returncode, prints.read().decode("utf-8", "replace"))


def _report(out: bytes, returncode: int, err: str) -> dict[str, Any]:
    if returncode == 0 and out and len(out) <= MAX_REPORT_BYTES:
        try:
            report = json.loads(out)
        except ValueError:
            report = None
        if isinstance(report, dict) and isinstance(report.get("testcases"), list):
            return report
    tail = err[-MAX_STDERR_CHARS:].strip()
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        raise SandboxFailed("the sandbox used up its CPU time and was stopped", "timeout")
    if "MemoryError" in tail:
        raise SandboxFailed("the sandbox ran out of memory", "memory")
    raise SandboxFailed(
        f"the sandbox crashed (exit status {returncode})" + (f": {tail}" if tail else ""),
        "crashed")


def function_name(prefix: str, project_id: str) -> str:
    """'hat-<stage>-sandbox-<32 hex>': within Lambda's 64 characters."""
    return f"{prefix}-sandbox-{project_id}"


def function_zip(source: str, version: int) -> bytes:
    """The function's own code: the project's debugtalk.py and its version, nothing else."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(DEBUGTALK_FILE, (2020, 1, 1, 0, 0, 0)), source)
        archive.writestr(zipfile.ZipInfo(VERSION_FILE, (2020, 1, 1, 0, 0, 0)), str(version))
    return buffer.getvalue()


@dataclass
class LambdaSandbox:
    prefix: str
    role_arn: str
    layer_arn: str
    reports_bucket: str
    memory_mb: int = 512
    timeout_seconds: int = 300
    reserved_concurrency: int = 2
    runtime: str = "python3.11"

    def _lambda(self) -> Any:
        from chalicelib.core.aws import get_client

        return get_client("lambda", read_timeout_seconds=self.timeout_seconds + 10)

    def deploy(self, project_id: str, source: str, version: int) -> None:
        client = self._lambda()
        name = function_name(self.prefix, project_id)
        code = function_zip(source, version)
        try:
            client.update_function_code(FunctionName=name, ZipFile=code)
        except client.exceptions.ResourceNotFoundException:
            client.create_function(
                FunctionName=name, Runtime=self.runtime, Role=self.role_arn, Handler=HANDLER,
                Code={"ZipFile": code}, Layers=[self.layer_arn], MemorySize=self.memory_mb,
                Timeout=self.timeout_seconds, Environment={"Variables": {}},
                Description=f"debugtalk.py of project {project_id}",
                Tags={"hat:project": project_id, "hat:role": "sandbox"},
            )
        # one project can hold at most this many environments (and never another's)
        client.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=self.reserved_concurrency)

    def remove(self, project_id: str) -> None:
        client = self._lambda()
        try:
            client.delete_function(FunctionName=function_name(self.prefix, project_id))
        except client.exceptions.ResourceNotFoundException:
            pass

    def invoke(self, project_id: str, run: SandboxRun) -> dict[str, Any]:
        key, report_url = self.report_upload(project_id, run.deadline_seconds)
        payload = json.dumps(run.payload(report_url=report_url), default=str).encode()
        parked = None
        if len(payload) > MAX_INVOKE_PAYLOAD_BYTES:  # Lambda takes 6 MB: the rest by URL
            parked, payload_url = self.payload_upload(project_id, payload, run.deadline_seconds)
            payload = json.dumps({"payload_url": payload_url}).encode()
        client = self._lambda()
        try:
            answer = client.invoke(
                FunctionName=function_name(self.prefix, project_id),
                InvocationType="RequestResponse", Payload=payload)
        except client.exceptions.ResourceNotFoundException:
            raise SandboxFailed("the project's sandbox function does not exist; save its "
                                "debugtalk.py again", "unavailable") from None
        except client.exceptions.ResourceConflictException:  # Pending after a create
            raise SandboxFailed("the project's sandbox is being created or updated; run again "
                                "in a few seconds", "unavailable") from None
        except client.exceptions.TooManyRequestsException:
            raise SandboxFailed("the project's sandbox is busy with its other runs "
                                "(reserved concurrency)", "unavailable") from None
        finally:
            if parked:
                self._discard(parked)
        message = answer["Payload"].read()[:MAX_STDERR_CHARS].decode("utf-8", "replace")
        if answer.get("FunctionError"):
            kind = "timeout" if "Task timed out" in message else (
                "memory" if "MemoryError" in message or "Runtime exited" in message else "crashed")
            self._discard(key)
            raise SandboxFailed(f"the sandbox failed: {message}", kind)
        return self.uploaded_report(key, message)

    def report_upload(self, project_id: str, deadline_seconds: float) -> tuple[str, str]:
        """(key, presigned PUT URL) where the sandbox puts its report: the URL is all it
        gets, so it holds no credentials of ours. Signing makes no call."""
        from chalicelib.core.aws import get_client

        key = f"{REPORTS_PREFIX}{project_id}/{secrets.token_hex(16)}.json"
        url = get_client("s3").generate_presigned_url(
            "put_object", Params={"Bucket": self.reports_bucket, "Key": key,
                                  "ContentType": "application/json"},
            ExpiresIn=int(deadline_seconds + 120))
        return key, url

    def payload_upload(self, project_id: str, payload: bytes,
                       deadline_seconds: float) -> tuple[str, str]:
        """(key, presigned GET URL) of a payload too big for Invoke, put there by us."""
        from chalicelib.core.aws import get_client

        s3 = get_client("s3")
        key = f"{RUNS_PREFIX}{project_id}/{secrets.token_hex(16)}.json"
        s3.put_object(Bucket=self.reports_bucket, Key=key, Body=payload,
                      ContentType="application/json")
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.reports_bucket, "Key": key},
            ExpiresIn=int(deadline_seconds + 120))
        return key, url

    def uploaded_report(self, key: str, message: str = "") -> dict[str, Any]:
        """The report the sandbox put at ``key`` (then deleted); SandboxFailed if none."""
        from chalicelib.core.aws import get_client

        s3 = get_client("s3")
        try:
            body = s3.get_object(Bucket=self.reports_bucket, Key=key)["Body"].read(
                MAX_REPORT_BYTES + 1)
        except s3.exceptions.NoSuchKey:
            raise SandboxFailed("the sandbox finished without a report"
                                + (f": {message}" if message else ""), "crashed") from None
        finally:
            self._discard(key)
        return _report(body, 0, message)

    def _discard(self, key: str) -> None:
        from chalicelib.core.aws import get_client

        get_client("s3").delete_object(Bucket=self.reports_bucket, Key=key)


def default_gateway() -> SandboxGateway:
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    if settings.sandbox_backend == "lambda":
        return LambdaSandbox(
            prefix=settings.prefix, role_arn=settings.sandbox_role_arn,
            layer_arn=settings.sandbox_layer_arn, reports_bucket=settings.reports_bucket,
            memory_mb=settings.sandbox_memory_mb,
            reserved_concurrency=settings.sandbox_reserved_concurrency)
    return _local_sandbox(settings.sandbox_memory_mb)


@functools.lru_cache(maxsize=4)
def _local_sandbox(memory_mb: int) -> LocalSandbox:
    # one per process (per limit): its processes started ahead serve every project's runs
    return LocalSandbox(Limits(memory_bytes=memory_mb * 1024 * 1024))
