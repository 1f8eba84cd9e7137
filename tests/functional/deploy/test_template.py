"""The packaged template (`make package`), checked offline: cfn-lint and the wiring."""
from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

import chalicelib
from infra.package import finish, run_chalice_package

STAGE = "prod"
# Actions AWS offers no resource-level permission for: "*" is the only resource they take.
UNSCOPABLE_ACTIONS = {"scheduler:ListSchedules"}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("package")
    template = finish(run_chalice_package(STAGE, out), STAGE)
    return out / "sam.yaml", template


def resources_of(template: dict, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def sub_name(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else value


def test_the_deployment_carries_the_built_console(packaged):
    sam, _ = packaged
    with zipfile.ZipFile(sam.parent / "deployment.zip") as archive:
        names = set(archive.namelist())
        index = archive.read("chalicelib/console/static/index.html").decode()
    referenced = re.findall(r'"\./(assets/[^"]+)"', index)
    assert referenced, index
    for asset in referenced:
        assert f"chalicelib/console/static/{asset}" in names, asset


def test_api_gateway_gzips_what_the_console_and_api_send(packaged):
    _, template = packaged
    (api,) = resources_of(template, "AWS::Serverless::Api").values()
    assert api["Properties"]["MinimumCompressionSize"] == 1024


def test_cfn_lint_is_clean(packaged):
    path, _ = packaged
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_sqs_handler_is_bound_to_a_queue_with_a_dlq(packaged):
    from app import app

    _, template = packaged
    queues = resources_of(template, "AWS::SQS::Queue")
    functions = resources_of(template, "AWS::Serverless::Function")
    bound = []
    for name, function in functions.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                logical = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                queue = queues[logical]["Properties"]
                assert "RedrivePolicy" in queue, f"{logical} has no DLQ"
                assert queue["RedrivePolicy"]["maxReceiveCount"] >= 3
                timeout = function["Properties"].get("Timeout", 60)
                assert queue["VisibilityTimeout"] >= 6 * timeout, f"{logical} visibility < 6x {name} timeout"
                assert event["Properties"]["BatchSize"] == 1
                bound.append(sub_name(queue["QueueName"]).replace("${Stage}", STAGE))
    handlers = [s.queue for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
    assert sorted(q.replace("hat-dev-", f"hat-{STAGE}-") for q in handlers) == sorted(bound)


def all_models() -> list[type[Model]]:
    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        if module.name.endswith(".models"):
            importlib.import_module(module.name)
    found, stack = [], list(Model.__subclasses__())
    while stack:
        model = stack.pop()
        stack.extend(model.__subclasses__())
        if getattr(model.Meta, "table_name", None):
            found.append(model)
    return found


def test_every_table_the_code_uses_is_defined_with_its_keys_indexes_and_ttl(packaged):
    _, template = packaged
    tables = {sub_name(r["Properties"]["TableName"]).replace("hat-${Stage}-", ""): r["Properties"]
              for r in resources_of(template, "AWS::DynamoDB::Table").values()}
    models = all_models()
    assert models
    for model in models:
        short = model.Meta.table_name.split("-", 2)[2]  # hat-<stage>-<name>
        assert short in tables, f"{model.__name__} uses table {short}, not in resources.yaml"
        table = tables[short]
        declared = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
        expected = {model._hash_keyname: "HASH"}
        if model._range_keyname:
            expected[model._range_keyname] = "RANGE"
        assert declared == expected, f"{model.__name__} keys"
        defined_indexes = {i["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in i["KeySchema"]}
                           for i in table.get("GlobalSecondaryIndexes", [])}
        for index in model._indexes.values():
            keys = {attr.attr_name: ("HASH" if attr.is_hash_key else "RANGE")
                    for attr in index.Meta.attributes.values() if attr.is_hash_key or attr.is_range_key}
            assert defined_indexes.get(index.Meta.index_name) == keys, \
                f"{model.__name__}.{index.Meta.index_name}"
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        if ttl:
            assert table["TimeToLiveSpecification"] == {"AttributeName": ttl[0], "Enabled": True}
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_the_scheduler_role_may_only_send_to_the_runs_queue(packaged):
    _, template = packaged
    role = template["Resources"]["SchedulerRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [s["Action"] for s in statements] == ["sqs:SendMessage"]
    targets = {r["Fn::GetAtt"][0] for r in statements[0]["Resource"]}
    assert targets == {"RunsQueue", "RunsDeadLetterQueue"}
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"}


def test_the_sandbox_role_may_only_write_its_own_logs(packaged):
    """User code (a project's debugtalk.py) runs as this role: nothing of ours is reachable."""
    _, template = packaged
    role = template["Resources"]["SandboxRole"]["Properties"]
    assert not role.get("ManagedPolicyArns") and not role.get("PermissionsBoundary")
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [(s["Effect"], sorted(s["Action"])) for s in statements] == [
        ("Allow", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])]
    resource = json.dumps(statements[0]["Resource"])
    assert ":log-group:/aws/lambda/hat-${Stage}-sandbox-*" in resource
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"}
    functions = resources_of(template, "AWS::Serverless::Function")
    assert all(f["Properties"]["Role"]["Fn::GetAtt"][0] != "SandboxRole" for f in functions.values())


def test_no_policy_grants_a_star_resource_and_each_function_has_its_own_role(packaged):
    _, template = packaged
    roles = resources_of(template, "AWS::IAM::Role")
    for name, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = statement["Resource"] if isinstance(statement["Resource"], list) \
                    else [statement["Resource"]]
                actions = statement["Action"] if isinstance(statement["Action"], list) \
                    else [statement["Action"]]
                if "*" in resources:
                    assert set(actions) <= UNSCOPABLE_ACTIONS, f"{name} grants '*' for {actions}"
                assert "*" not in json.dumps(statement["Action"]), f"{name} grants a wildcard action"
    functions = resources_of(template, "AWS::Serverless::Function")
    role_refs = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(role_refs)) == len(functions)
    assert "DefaultRole" not in template["Resources"]


def test_bucket_is_private_encrypted_and_expires_old_details(packaged):
    _, template = packaged
    bucket = template["Resources"]["ReportsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Status"] == "Enabled"


def test_the_stage_parameter_defaults_to_the_packaged_stage(packaged):
    path, _ = packaged
    assert yaml.safe_load(path.read_text())["Parameters"]["Stage"]["Default"] == STAGE


def test_an_unknown_route_answers_404_in_the_api_error_shape_on_aws(packaged):
    """API Gateway answers a method/path no route serves as MISSING_AUTHENTICATION_TOKEN (403,
    "Missing Authentication Token"): a gateway response makes it the local server's 404."""
    from chalicelib.core.http import UNKNOWN_ROUTE_BODY

    _, template = packaged
    responses = resources_of(template, "AWS::ApiGateway::GatewayResponse")
    [unknown] = [r["Properties"] for r in responses.values()
                 if r["Properties"]["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["RestApiId"] == {"Ref": "RestAPI"} and "RestAPI" in template["Resources"]
    assert unknown["StatusCode"] == "404"
    assert json.loads(unknown["ResponseTemplates"]["application/json"]) == UNKNOWN_ROUTE_BODY
    assert unknown["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"
