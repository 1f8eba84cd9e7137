"""`make package STAGE=prod`: one CloudFormation/SAM template for the whole stack.

`chalice package --merge-template infra/resources.yaml` gives the functions, the
API and the stateful resources; this then finishes the wiring chalice cannot:
- each SQS event source is bound to its queue resource by `!GetAtt Queue.Arn`
  (chalice only knows a queue's name);
- each function gets its own role with the hand-written least-privilege policy
  of infra/policies.yaml (logical resource names resolved to exact ARNs; no `*`);
- the template's Stage parameter defaults to the packaged stage;
- the sandbox's shared layer (sandbox-layer.zip, `SandboxRunnerLayer`): the runner, the
  sandbox's entry point and the dependencies, out of deployment.zip, under python/;
- a method and path no route serves answers 404 in the API's error shape (a gateway
  response), not API Gateway's 403 "Missing Authentication Token".
The web console's built files (chalicelib/console/static/, made by `make console`) ride in
the deployment zip with the code that serves them; packaging refuses to go without them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from infra.local.provision import TEMPLATE_PATH, load_template

PROJECT_DIR = Path(__file__).resolve().parents[1]
POLICIES_PATH = Path(__file__).resolve().parent / "policies.yaml"
LOGS_STATEMENT = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": {"Fn::Sub":
                 "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*"},
}

# Every function reads its stage's secrets once at cold start (core/settings.py).
SECRETS_STATEMENT = {
    "Effect": "Allow",
    "Action": ["ssm:GetParametersByPath"],
    "Resource": {"Fn::Sub":
                 "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/hat/${Stage}"},
}


CONSOLE_INDEX = PROJECT_DIR / "chalicelib" / "console" / "static" / "index.html"


def run_chalice_package(stage: str, out_dir: Path) -> Path:
    if not CONSOLE_INDEX.is_file():
        raise SystemExit("the web console is not built: make console (or make package, which builds it)")
    env = {**os.environ, "HAT_STAGE": stage}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL",):  # never package against the emulator
        env.pop(name, None)
    subprocess.run([str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage,
                    "--merge-template", str(TEMPLATE_PATH), str(out_dir)],
                   cwd=PROJECT_DIR, env=env, check=True)
    return out_dir / "sam.yaml"


def _queue_names(resources_template: dict, stage: str) -> dict[str, str]:
    """Physical queue name -> logical id, from resources.yaml."""
    names = {}
    for logical, resource in resources_template["Resources"].items():
        if resource["Type"] == "AWS::SQS::Queue":
            name = resource["Properties"]["QueueName"]
            names[name.value.replace("${Stage}", stage)] = logical
    return names


def bind_queues(template: dict, queues: dict[str, str]) -> None:
    for logical, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            queue = event["Properties"]["Queue"]
            name = (queue["Fn::Sub"] if isinstance(queue, dict) else queue).rsplit(":", 1)[-1]
            if name not in queues:
                raise SystemExit(f"{logical} listens on queue {name}, which infra/resources.yaml lacks")
            event["Properties"]["Queue"] = {"Fn::GetAtt": [queues[name], "Arn"]}


def _resource_arns(spec: object) -> object:
    """'UsersTable' -> GetAtt Arn; 'UsersTable/index/*' -> its indexes; 'ReportsBucket/*' -> objects."""
    if isinstance(spec, dict) or spec == "*":  # "*": only for actions AWS cannot scope
        return spec
    logical, _, suffix = str(spec).partition("/")
    arn = {"Fn::GetAtt": [logical, "Arn"]}
    return {"Fn::Join": ["", [arn, "/" + suffix]]} if suffix else arn


def apply_policies(template: dict, policies: dict) -> None:
    functions = [logical for logical, resource in template["Resources"].items()
                 if resource["Type"] == "AWS::Serverless::Function"]
    missing = sorted(set(functions) - set(policies))
    if missing:
        raise SystemExit(f"infra/policies.yaml has no policy for {', '.join(missing)}")
    for function in functions:
        statements = [LOGS_STATEMENT, SECRETS_STATEMENT] + [
            {"Effect": "Allow", "Action": statement["actions"],
             "Resource": [_resource_arns(resource) for resource in statement["resources"]]}
            for statement in policies[function]
        ]
        role = f"{function}Role"
        template["Resources"][role] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": f"{function}Policy",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        }}
        template["Resources"][function]["Properties"]["Role"] = {"Fn::GetAtt": [role, "Arn"]}
    template["Resources"].pop("DefaultRole", None)


LAYER_ZIP = "sandbox-layer.zip"
# of our own code, what the sandbox runs: nothing else of the platform's goes in its layer
LAYER_OWN_CODE = ("chalicelib/__init__.py", "chalicelib/runner/", "chalicelib/sandbox/__init__.py",
                  "chalicelib/sandbox/process.py")


def build_runner_layer(out_dir: Path) -> Path:
    """sandbox-layer.zip from deployment.zip: the dependencies and the runner, under python/
    (where Lambda's Python runtime looks in a layer)."""
    layer = out_dir / LAYER_ZIP
    with zipfile.ZipFile(out_dir / "deployment.zip") as app, \
            zipfile.ZipFile(layer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in app.infolist():
            name = item.filename
            ours = name == "app.py" or name.startswith(("chalicelib/", "infra/", ".chalice/"))
            if ours and not name.startswith(LAYER_OWN_CODE):
                continue
            out.writestr(zipfile.ZipInfo(f"python/{name}", item.date_time), app.read(item))
    return layer


def add_unknown_route_response(template: dict) -> None:
    """API Gateway answers an unknown method/path as MISSING_AUTHENTICATION_TOKEN; make it
    the 404 the local server gives (one body, chalicelib/core/http.py)."""
    from chalicelib.core.http import UNKNOWN_ROUTE_BODY, UNKNOWN_ROUTE_STATUS

    template["Resources"]["UnknownRouteResponse"] = {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "RestAPI"},
            "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": str(UNKNOWN_ROUTE_STATUS),
            "ResponseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            "ResponseTemplates": {"application/json": json.dumps(UNKNOWN_ROUTE_BODY)},
        },
    }


def finish(template_path: Path, stage: str) -> dict:
    build_runner_layer(template_path.parent)
    template = yaml.safe_load(template_path.read_text())
    bind_queues(template, _queue_names(load_template(), stage))
    apply_policies(template, yaml.safe_load(POLICIES_PATH.read_text()))
    add_unknown_route_response(template)
    template["Parameters"]["Stage"]["Default"] = stage
    template_path.write_text(yaml.safe_dump(template, sort_keys=False))
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out_dir = args.out or PROJECT_DIR / "build" / args.stage
    template = finish(run_chalice_package(args.stage, out_dir), args.stage)
    size = (out_dir / "deployment.zip").stat().st_size
    print(json.dumps({"template": str(out_dir / "sam.yaml"), "resources": len(template["Resources"]),
                      "deployment_zip_bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
