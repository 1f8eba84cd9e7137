"""The AWS sandbox gateway against the emulator: the calls, their parameters, and the
report's way back through a presigned S3 PUT.

The emulator cannot *run* a Lambda function here: moto invokes functions in docker, and
this machine has no docker daemon. So Invoke is checked for what the emulator can check
(the function, the call's parameters, a missing report becoming a step error), and the
function's handler is run as Lambda would run it, in a process of its own with an empty
environment, putting its report to the emulator's S3 through the URL the gateway made.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest

from chalicelib.sandbox.gateway import (
    HANDLER,
    LambdaSandbox,
    SandboxFailed,
    SandboxRun,
    function_name,
    function_zip,
)

from .conftest import EXAMPLES, example

SOURCE = (EXAMPLES / "debugtalk.py").read_text()
BUCKET = "hat-dev-reports-123456789012"


@pytest.fixture
def gateway(aws):
    role = aws("iam").get_role(RoleName="hat-dev-sandbox")["Role"]["Arn"]
    layer = aws("lambda").publish_layer_version(
        LayerName="hat-dev-runner", Content={"ZipFile": function_zip("", 0)},
        CompatibleRuntimes=["python3.11"])["LayerVersionArn"]
    return LambdaSandbox(prefix="hat-dev", role_arn=role, layer_arn=layer, reports_bucket=BUCKET,
                         memory_mb=512, timeout_seconds=300, reserved_concurrency=2)


def _run(echo_url: str = "http://127.0.0.1:9", deadline: float = 10) -> SandboxRun:
    document = example("signed.yml")
    document["config"]["base_url"] = echo_url
    return SandboxRun(testcases=[document], references={}, environment={},
                      deadline_seconds=deadline, concurrency=2, outbound_allow=["127.0.0.0/8"],
                      call_seconds=2)


def test_deploy_creates_then_updates_one_function_per_project(aws, gateway):
    gateway.deploy("a" * 32, SOURCE, 1)
    name = function_name("hat-dev", "a" * 32)
    function = aws("lambda").get_function(FunctionName=name)
    config = function["Configuration"]
    assert (config["Runtime"], config["Handler"], config["MemorySize"], config["Timeout"]) == (
        "python3.11", HANDLER, 512, 300)
    assert config["Role"] == gateway.role_arn and "sandbox" in config["Role"]
    assert [layer["Arn"] for layer in config["Layers"]] == [gateway.layer_arn]
    assert not config.get("Environment", {}).get("Variables")  # no settings, no secrets
    assert not config.get("VpcConfig", {}).get("SubnetIds")  # outside any VPC
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 2
    assert function["Tags"]["hat:project"] == "a" * 32
    first_sha = config["CodeSha256"]

    gateway.deploy("a" * 32, SOURCE + "\n# v2\n", 2)
    updated = aws("lambda").get_function(FunctionName=name)["Configuration"]
    expected = base64.b64encode(hashlib.sha256(function_zip(SOURCE + "\n# v2\n", 2)).digest())
    assert updated["CodeSha256"] in (expected.decode(), hashlib.sha256(
        function_zip(SOURCE + "\n# v2\n", 2)).hexdigest())
    assert updated["CodeSha256"] != first_sha
    names = [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]]
    assert names.count(name) == 1

    gateway.deploy("b" * 32, SOURCE, 1)  # another project: a function of its own
    assert function_name("hat-dev", "b" * 32) in [
        f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]]
    gateway.remove("a" * 32)
    gateway.remove("a" * 32)  # already gone: fine
    assert name not in [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]]


def test_the_function_code_holds_the_projects_file_and_version_only():
    archive = zipfile.ZipFile(io.BytesIO(function_zip(SOURCE, 7)))
    assert sorted(archive.namelist()) == ["debugtalk.py", "debugtalk.version"]
    assert archive.read("debugtalk.version") == b"7"


def test_invoke_sends_the_run_and_a_missing_report_is_a_sandbox_failure(aws, gateway, monkeypatch):
    from tests import support

    calls = []
    unhook = support.hook_clients(monkeypatch, lambda **kw: calls.append(kw),
                                  event="before-parameter-build")
    gateway.deploy("c" * 32, SOURCE, 1)
    with pytest.raises(SandboxFailed) as failed:
        # the emulator answers Invoke without running the code (no docker): no report
        gateway.invoke("c" * 32, _run())
    unhook()
    assert failed.value.kind in ("crashed", "unavailable")
    invoked = [c["params"] for c in calls if c.get("model") and c["model"].name == "Invoke"]
    assert invoked, [c.get("model").name for c in calls if c.get("model")]
    params = invoked[-1]
    assert params["FunctionName"] == function_name("hat-dev", "c" * 32)
    assert params["InvocationType"] == "RequestResponse"
    payload = json.loads(params["Payload"])
    assert payload["report_url"].startswith("http") and "sandbox-reports" in payload["report_url"]
    assert set(payload) >= {"testcases", "environment", "deadline_seconds", "outbound_allow"}
    assert "source" not in payload  # the code is the function's own, not the payload's
    assert "Contents" not in aws("s3").list_objects_v2(Bucket=BUCKET, Prefix="sandbox-reports/")


@pytest.mark.parametrize("parked", [False, True], ids=["inline", "payload over Invoke's limit"])
def test_the_handler_reports_through_the_presigned_url_with_no_credentials(
        aws, gateway, echo, tmp_path, parked):
    from chalicelib.sandbox.gateway import REPO_ROOT

    (tmp_path / "debugtalk.py").write_text(SOURCE)
    (tmp_path / "debugtalk.version").write_text("4")
    key, url = gateway.report_upload("d" * 32, 30)
    event = _run(echo.url).payload(report_url=url)
    if parked:  # as invoke() sends a payload over 5 MB: by a presigned GET
        _key, payload_url = gateway.payload_upload("d" * 32, json.dumps(event).encode(), 30)
        event = {"payload_url": payload_url}
    boot = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
            "from chalicelib.sandbox.process import handler; "
            "print(json.dumps(handler(json.load(sys.stdin), None)))")
    done = subprocess.run([sys.executable, "-I", "-c", boot, str(REPO_ROOT)],
                          input=json.dumps(event), capture_output=True, text=True, timeout=60,
                          env={"LAMBDA_TASK_ROOT": str(tmp_path)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = gateway.uploaded_report(key)
    assert report["success"] is True, report
    assert report["debugtalk_version"] == 4
    with pytest.raises(SandboxFailed):
        gateway.uploaded_report(key)  # read once: deleted


def test_saving_and_deleting_debugtalk_bring_the_function_up_to_date_by_a_job(
        aws, gateway, alice, run_queue, monkeypatch):
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("HAT_SANDBOX_BACKEND", "lambda")
    monkeypatch.setenv("HAT_SANDBOX_ROLE_ARN", gateway.role_arn)
    monkeypatch.setenv("HAT_SANDBOX_LAYER_ARN", gateway.layer_arn)
    reset_settings()
    pid = alice.project("lambda")["id"]
    name = function_name("hat-dev", pid)
    for version in (1, 2):
        saved = alice.call("PUT", f"/projects/{pid}/debugtalk", raw=f"def v():\n    return {version}\n",
                           content_type="text/x-python")
        assert saved.status == 200 and saved.body["version"] == version
    run_queue()  # two "sandbox" jobs, each making the function match what is saved now
    code = aws("lambda").get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    latest = function_zip("def v():\n    return 2\n", 2)
    assert code in (base64.b64encode(hashlib.sha256(latest).digest()).decode(),
                    hashlib.sha256(latest).hexdigest())
    assert alice.call("DELETE", f"/projects/{pid}/debugtalk").status == 204
    run_queue()
    names = [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]]
    assert name not in names
