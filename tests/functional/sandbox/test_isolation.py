"""User code in the local sandbox cannot reach the platform or another project: each attempt
fails its own step with a clear error, and the platform keeps serving."""
from __future__ import annotations

import os

import pytest

from .conftest import put_debugtalk, step

PROBES = '''
import os, sys, glob


def environ_keys():
    return ",".join(sorted(os.environ))


def sensitive_environ():
    return ",".join(k for k in os.environ if k.startswith(("AWS", "HAT_", "TWILIO", "SMTP")))


def read_file(path):
    with open(path) as f:
        return f.read()


def other_sandboxes():
    others = [d for d in glob.glob("/tmp/hat-sandbox-*") if d != os.getcwd()]
    assert others, "no other sandbox to look into"
    return [os.listdir(d) for d in others]


def aws_credentials():
    import boto3
    credentials = boto3.Session().get_credentials()
    return "none" if credentials is None else credentials.access_key


def spin():
    while True:
        pass


def hog():
    chunks, size = [], 64 * 1024 * 1024
    while True:  # without end, ever larger (bytes() maps zeroed pages: quick even when busy)
        chunks.append(bytes(size))
        size *= 2


def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return pid


def spawn():
    import subprocess
    return subprocess.run(["id"], capture_output=True).returncode


def thread():
    import threading
    t = threading.Thread(target=lambda: None)
    t.start()
    return "started"


def write_tmp(path):
    with open(path, "w") as f:
        f.write("secret of project A")
    return "written"


def shout():
    while True:
        sys.stderr.write("x" * 65536)


def die():
    os._exit(3)


def evade_timer():
    import signal
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
'''


@pytest.fixture
def project(alice, echo, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_SANDBOX_CALL_SECONDS", "2")
    reset_settings()
    shop = alice.shop(echo.url, [])
    assert put_debugtalk(alice, shop["project"]["id"], PROBES).status == 200
    return shop["project"]["id"]


def _debug(api, project_id: str, call: str, **extra) -> dict:
    testcase = {"config": {"name": "probe"},
                "teststeps": [step("probe", "/echo", **extra) | {
                    "request": {"method": "POST", "url": "/echo", "json": {"value": call}}}]}
    answer = api.post("/testcases/debug", {"project_id": project_id, "testcase": testcase})
    assert answer.status == 200, answer.body
    case = answer.body["testcases"][0]
    assert case["steps"], case
    return case["steps"][0]


def _still_serving(api, project_id: str) -> None:
    assert api.get(f"/projects/{project_id}/debugtalk").status == 200
    ok = _debug(api, project_id, "${environ_keys()}")
    assert ok["success"] is True, ok


def test_the_environment_holds_no_credentials_or_settings(alice, project, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "worker-secret")  # the worker's own
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "worker-token")
    for call, expected in (("${sensitive_environ()}", ""), ("${aws_credentials()}", "none")):
        seen = _debug(alice, project, call, validate=[{"eq": ["body.json.value", expected]}])
        assert seen["success"] is True, (seen.get("error"), seen.get("validators"))


@pytest.mark.skipif(os.geteuid() != 0, reason="another user id per run needs root")
def test_worker_files_and_other_sandboxes_are_unreadable(alice, project, tmp_path):
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = x")
    secret.chmod(0o600)  # as ~/.aws/credentials and /proc/<worker>/environ are
    from chalicelib.sandbox.gateway import LocalSandbox, SandboxRun

    other = LocalSandbox(spares=1)  # another project's sandbox: its process waits, started ahead
    other.invoke("b" * 32, SandboxRun(testcases=[], references={}, environment={},
                                      deadline_seconds=10, concurrency=1, outbound_allow=[],
                                      call_seconds=1, source="SECRET = 'of project b'\n"))
    for call in (f"${{read_file({secret})}}", f"${{read_file(/proc/{os.getpid()}/environ)}}",
                 "${other_sandboxes()}"):
        failed = _debug(alice, project, call)
        assert failed["success"] is False
        assert failed["error_type"] == "user_code" and "PermissionError" in failed["error"], failed
        assert 'File "debugtalk.py", line' in failed["error"]  # their frames only
        assert "chalicelib" not in failed["error"]
    other.close()
    _still_serving(alice, project)


@pytest.mark.skipif(os.geteuid() != 0, reason="another user id per run needs root")
def test_tmp_written_by_one_project_is_unreadable_in_the_next_run_of_another(alice, bob, project, echo):
    path = "/tmp/hat-sandbox-leak-test"
    try:
        assert _debug(alice, project, f"${{write_tmp({path})}}")["success"] is True
        other = bob.shop(echo.url, [], name="other")["project"]["id"]
        assert put_debugtalk(bob, other, PROBES).status == 200
        leak = _debug(bob, other, f"${{read_file({path})}}")
        assert leak["success"] is False and "PermissionError" in leak["error"], leak
    finally:
        if os.path.exists(path):
            os.remove(path)


@pytest.mark.parametrize(("call", "needle"), [
    ("${spin()}", "ran longer than 2 s"),
    ("${hog()}", "ran out of memory"),
    ("${fork()}", "BlockingIOError"),
    ("${spawn()}", "BlockingIOError"),
    ("${thread()}", "can't start new thread"),
])
def test_loops_allocations_forks_and_threads_fail_their_step(alice, project, call, needle):
    failed = _debug(alice, project, call)
    assert failed["success"] is False
    assert failed["error_type"] == "user_code" and needle in failed["error"], failed
    _still_serving(alice, project)


def test_a_sandbox_that_dies_or_prints_without_end_fails_its_steps(alice, project):
    died = _debug(alice, project, "${die()}")
    assert died["error_type"] == "sandbox_crashed" and "exit status 3" in died["error"], died
    shouted = _debug(alice, project, "${shout()}")  # its prints are bounded by RLIMIT_FSIZE
    assert shouted["error_type"] == "user_code" and "File too large" in shouted["error"], shouted
    _still_serving(alice, project)


def test_code_that_dodges_the_call_timer_is_killed_at_the_deadline(alice, project, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_DEBUG_DEADLINE_SECONDS", "2")
    reset_settings()
    failed = _debug(alice, project, "${evade_timer()}")
    assert failed["success"] is False
    assert failed["error_type"] == "sandbox_timeout" and "stopped" in failed["error"], failed
    _still_serving(alice, project)
