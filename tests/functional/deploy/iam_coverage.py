"""What AWS calls each Lambda function's code makes, and whether infra/policies.yaml allows them.

The emulator enforces no IAM, so a permission missing from policies.yaml only shows on AWS.
`Recorder` is a botocore `before-parameter-build` hook on every client (the ones that exist
and any made later). At each call it walks the Python stack for a frame whose code object
is a handler registered on the Chalice app: a route's view or an HTTP middleware ->
APIHandler; an `@on_sqs_message` / `@schedule` function -> its own function (CamelCased,
as `chalice package` names it). Calls outside any handler (test set-up, the local pollers'
receive/delete) are not recorded. Each call becomes the (IAM action, resource ARN) pairs
IAM checks for it: a transaction per item, a batch per table, an index as `table/index/x`,
an object as `bucket/key`, CreateSchedule also `iam:PassRole` on its target's role,
CreateFunction also `iam:PassRole` on its role, GetLayerVersion on its layers.

`Policies` reads infra/policies.yaml (plus the statements infra/package.py gives every
function) as IAM would evaluate it: actions and resource ARNs matched with `*` and `?`.
"""
from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import CodeType
from typing import Any

import yaml

API_HANDLER = "APIHandler"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's, as infra/local/provision.py uses
PARTITION = "aws"

# Lambda's SQS event source polls with the function's own role (AWS Lambda developer guide,
# "Execution role permissions" for SQS): these must be granted on the function's queue.
EVENT_SOURCE_SQS_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")

_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
_S3_OBJECT_ACTIONS = {"GetObject": "GetObject", "HeadObject": "GetObject", "PutObject": "PutObject",
                      "DeleteObject": "DeleteObject", "GetObjectAttributes": "GetObjectAttributes",
                      "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject",
                      "CompleteMultipartUpload": "PutObject", "AbortMultipartUpload": "AbortMultipartUpload"}
_S3_BUCKET_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket"}


# -- the functions ---------------------------------------------------------------------------
def function_name(handler_name: str) -> str:
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(handler_name)


def handler_codes(app: Any) -> dict[CodeType, str]:
    """Code object of every handler registered on the app -> its function's logical id."""
    from chalice.app import ScheduledEventConfig, SQSEventConfig

    codes: dict[CodeType, str] = {}
    for methods in app.routes.values():
        for entry in methods.values():
            codes[inspect.unwrap(entry.view_function).__code__] = API_HANDLER
    for middleware in app._get_middleware_handlers("http"):
        codes[inspect.unwrap(middleware).__code__] = API_HANDLER
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig | ScheduledEventConfig):
            func = app.handler_map[source.name].func
            codes[inspect.unwrap(func).__code__] = function_name(source.name)
    return codes


def functions_of(app: Any) -> set[str]:
    return set(handler_codes(app).values())


def sqs_event_sources(app: Any) -> dict[str, str]:
    """Function logical id -> the queue name its SQS event source polls."""
    from chalice.app import SQSEventConfig

    return {function_name(s.name): s.queue or s.queue_arn.rsplit(":", 1)[-1]
            for s in app.event_sources if isinstance(s, SQSEventConfig)}


def function_on_stack(codes: dict[CodeType, str], frame: Any) -> str | None:
    """The innermost handler frame's function, walking out from `frame`."""
    while frame is not None:
        found = codes.get(frame.f_code)
        if found is not None:
            return found
        frame = frame.f_back
    return None


# -- the resources: infra/resources.yaml resolved for one stage --------------------------------
class Resources:
    """Logical id <-> ARN for infra/resources.yaml's resources at `stage` in the emulator."""

    def __init__(self, stage: str = "dev") -> None:
        from infra.local.provision import load_template

        self.stage = stage
        self.arns: dict[str, str] = {}
        for logical, resource in load_template()["Resources"].items():
            arn = self._arn(resource["Type"], resource.get("Properties", {}))
            if arn:
                self.arns[logical] = arn
        self.logical = {arn: logical for logical, arn in self.arns.items()}

    def sub(self, text: str) -> str:
        values = {"Stage": self.stage, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::Partition": PARTITION}
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)

    def _name(self, value: Any) -> str:
        return self.sub(getattr(value, "value", value))

    def _arn(self, kind: str, props: dict) -> str | None:
        if kind == "AWS::DynamoDB::Table":
            return table_arn(self._name(props["TableName"]))
        if kind == "AWS::SQS::Queue":
            return queue_arn(self._name(props["QueueName"]))
        if kind == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{self._name(props['BucketName'])}"
        if kind == "AWS::IAM::Role":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{self._name(props['RoleName'])}"
        if kind == "AWS::KMS::Key":  # its id is made on creation: any key of the account
            return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/*"
        if kind == "AWS::Scheduler::ScheduleGroup":
            return f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}:schedule-group/{self._name(props['Name'])}"
        return None

    def pattern(self, spec: Any) -> str:
        """A policies.yaml resource as the ARN pattern infra/package.py makes of it."""
        if isinstance(spec, dict):
            (function, value), = spec.items()
            assert function == "Fn::Sub", f"policies.yaml: unsupported resource {spec}"
            return self.sub(value)
        if spec == "*":
            return "*"
        logical, _, suffix = str(spec).partition("/")
        assert logical in self.arns, f"policies.yaml names {logical}, which infra/resources.yaml lacks"
        return self.arns[logical] + ("/" + suffix if suffix else "")

    def show(self, arn: str) -> str:
        """An ARN as a logical id for the summary ("TasksTable/index/by-project", "ReportsBucket/*")."""
        for base, logical in sorted(self.logical.items(), key=lambda item: -len(item[0])):
            if arn == base:
                return logical
            if arn.startswith(base + "/"):
                rest = arn[len(base) + 1:]
                return f"{logical}/*" if ":s3:::" in base else f"{logical}/{rest}"
        return re.sub(r"[0-9a-f]{32}", "<id>", arn)


def table_arn(name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def queue_arn(name: str) -> str:
    return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"


# -- one call -> what IAM checks ----------------------------------------------------------------
def iam_checks(service: str, operation: str, params: dict) -> Iterator[tuple[str, str]]:
    """(action, resource ARN) pairs IAM evaluates for one API call."""
    if service == "dynamodb":
        yield from _dynamodb(operation, params)
    elif service == "sqs":
        action = "sqs:" + operation.removesuffix("Batch")  # SendMessageBatch needs SendMessage
        name = params.get("QueueName") or params.get("QueueUrl", "").rstrip("/").rsplit("/", 1)[-1]
        yield action, queue_arn(name)
    elif service == "s3":
        bucket = f"arn:{PARTITION}:s3:::{params.get('Bucket', '')}"
        if operation in _S3_OBJECT_ACTIONS:
            yield "s3:" + _S3_OBJECT_ACTIONS[operation], f"{bucket}/{params['Key']}"
        elif operation == "DeleteObjects":
            for item in params["Delete"]["Objects"]:
                yield "s3:DeleteObject", f"{bucket}/{item['Key']}"
        elif operation == "CopyObject":
            source = params["CopySource"]
            source = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source
            yield "s3:GetObject", f"arn:{PARTITION}:s3:::{source.lstrip('/')}"
            yield "s3:PutObject", f"{bucket}/{params['Key']}"
        else:
            yield "s3:" + _S3_BUCKET_ACTIONS.get(operation, operation), bucket
    elif service == "scheduler":
        yield from _scheduler(operation, params)
    elif service == "lambda":
        yield from _lambda(operation, params)
    elif service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        # authorised against the sending identity: the address, else its domain (either one suffices
        # on AWS; the address's ARN is the one an identity/* grant must cover either way)
        sender = params.get("Source", "").rpartition("<")[2].rstrip(">")
        yield f"ses:{operation}", f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{sender}"
    elif service == "kms":  # authorised against the key (the code names it by ARN: HAT_SECRETS_KEY_ID)
        yield f"kms:{operation}", params.get("KeyId", "*")
    else:  # anything new fails the check until this module and policies.yaml know it
        yield f"{service}:{operation}", "*"


def _dynamodb(operation: str, params: dict) -> Iterator[tuple[str, str]]:
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            (kind, spec), = item.items()
            yield "dynamodb:" + _TRANSACT_WRITE[kind], table_arn(spec["TableName"])
    elif operation == "TransactGetItems":
        for item in params["TransactItems"]:
            yield "dynamodb:GetItem", table_arn(item["Get"]["TableName"])
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params["RequestItems"]:
            yield "dynamodb:" + operation, table_arn(table)
    else:
        arn = table_arn(params["TableName"])
        if params.get("IndexName"):
            arn += "/index/" + params["IndexName"]
        yield "dynamodb:" + operation, arn


def _scheduler(operation: str, params: dict) -> Iterator[tuple[str, str]]:
    base = f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}"
    if operation == "ListSchedules":
        yield "scheduler:ListSchedules", "*"  # no resource-level permission
        return
    if "Name" in params and operation.endswith("Schedule"):
        group = params.get("GroupName") or "default"
        yield f"scheduler:{operation}", f"{base}:schedule/{group}/{params['Name']}"
    elif "Name" in params:
        yield f"scheduler:{operation}", f"{base}:schedule-group/{params['Name']}"
    else:
        yield f"scheduler:{operation}", "*"
    role = (params.get("Target") or {}).get("RoleArn")
    if role and operation in ("CreateSchedule", "UpdateSchedule"):
        yield "iam:PassRole", role  # the schedule assumes the role: the caller must pass it


def _lambda(operation: str, params: dict) -> Iterator[tuple[str, str]]:
    name = str(params.get("FunctionName", ""))
    function = name if name.startswith("arn:") else (
        f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}")
    yield f"lambda:{'InvokeFunction' if operation == 'Invoke' else operation}", function
    if operation == "CreateFunction":
        yield "iam:PassRole", params["Role"]  # the function runs as it: the caller must pass it
        for layer in params.get("Layers") or ():
            yield "lambda:GetLayerVersion", layer
        if params.get("Tags"):
            yield "lambda:TagResource", function


# -- recording ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Use:
    function: str
    action: str
    arn: str
    via: str  # the API call, e.g. "dynamodb.TransactWriteItems"


class Recorder:
    """The botocore hook: records a `Use` per IAM check of each call made under a handler."""

    def __init__(self, app: Any) -> None:
        self.codes = handler_codes(app)
        self.uses: set[Use] = set()

    def current_function(self) -> str | None:
        return function_on_stack(self.codes, sys._getframe(1))

    def __call__(self, params: dict, model: Any, **_kwargs: Any) -> None:
        function = function_on_stack(self.codes, sys._getframe(1))
        if function is None:
            return
        service = model.service_model.service_name
        for action, arn in iam_checks(service, model.name, params):
            self.uses.add(Use(function, action, arn, f"{service}.{model.name}"))


class PerFunctionCache(dict):
    """A process-wide cache made per function, as each Lambda function has its own containers:
    `chalicelib.core.aws._queue_urls` shared by all handlers would hide every GetQueueUrl
    but the first one's."""

    def __init__(self, current: Callable[[], str | None]) -> None:
        super().__init__()
        self.current = current

    def get(self, key, default=None):
        return super().get((self.current(), key), default)

    def __getitem__(self, key):
        return super().__getitem__((self.current(), key))

    def __setitem__(self, key, value) -> None:
        super().__setitem__((self.current(), key), value)

    def __contains__(self, key) -> bool:
        return super().__contains__((self.current(), key))


# -- the policies ---------------------------------------------------------------------------------
def _glob(pattern: str) -> re.Pattern:
    """IAM's wildcards: `*` any run of characters (across `/` and `:`), `?` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                      re.IGNORECASE | re.DOTALL)


class Policies:
    """infra/policies.yaml plus infra/package.py's statements for every function, evaluated."""

    def __init__(self, resources: Resources) -> None:
        from infra.package import LOGS_STATEMENT, POLICIES_PATH, SECRETS_STATEMENT

        self.raw = yaml.safe_load(POLICIES_PATH.read_text())
        common = [{"actions": s["Action"], "resources": [s["Resource"]]}
                  for s in (LOGS_STATEMENT, SECRETS_STATEMENT)]
        self.statements: dict[str, list[tuple[list[re.Pattern], list[re.Pattern]]]] = {}
        for function, statements in self.raw.items():
            self.statements[function] = [
                ([_glob(a) for a in _listed(s["actions"])],
                 [_glob(resources.pattern(r)) for r in _listed(s["resources"])])
                for s in [*common, *statements]]

    def allows(self, function: str, action: str, arn: str) -> bool:
        return any(any(a.fullmatch(action) for a in actions) and any(r.fullmatch(arn) for r in arns)
                   for actions, arns in self.statements.get(function, []))


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def table(uses: set[Use], resources: Resources, policies: Policies) -> str:
    """What each function used, one line per (function, action, resource), denied ones marked."""
    rows = sorted({(u.function, u.action, resources.show(u.arn),
                    "ok" if policies.allows(u.function, u.action, u.arn) else "DENIED") for u in uses})
    width = [max(len(row[i]) for row in rows) for i in range(3)] if rows else [0, 0, 0]
    return "\n".join(f"{f:<{width[0]}}  {a:<{width[1]}}  {r:<{width[2]}}  {verdict}"
                     for f, a, r, verdict in rows)
