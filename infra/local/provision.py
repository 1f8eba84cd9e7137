"""Provision the AWS emulator from infra/resources.yaml, the single source of truth.

A small CloudFormation interpreter: it understands the intrinsic functions and the
resource types our template uses, and refuses any other type loudly so that a
resource added to the template can never be silently missing locally.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "resources.yaml"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's account
# Types that only matter on AWS (access policies); nothing to emulate.
AWS_ONLY_TYPES = {"AWS::SQS::QueuePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                  "AWS::Serverless::LayerVersion"}  # the sandbox's layer: the local sandbox needs none


class _Tag:
    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


class _TemplateLoader(yaml.SafeLoader):
    """safe_load plus CloudFormation's short-form tags (!Sub, !Ref, !GetAtt...)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return _Tag(suffix, value)


_TemplateLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict:
    return yaml.load(path.read_text(), Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass


class Provisioner:
    """Creates every resource of the template in the emulator, resolving references."""

    def __init__(self, template: dict, *, client: Callable[[str], Any], stage: str,
                 region: str, account_id: str = LOCAL_ACCOUNT_ID) -> None:
        self.template = template
        self.client = client
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update({
            "Stage": stage, "AWS::Region": region, "AWS::AccountId": account_id,
            "AWS::Partition": "aws", "AWS::StackName": f"hat-{stage}",
        })
        self.region, self.account_id = region, account_id
        self.created: dict[str, dict[str, str]] = {}  # logical id -> {"Ref": ..., "Arn": ...}

    # -- intrinsic functions ------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, _Tag):
            return self._intrinsic(value.name, value.value)
        if isinstance(value, dict):
            if len(value) == 1:
                (key, inner), = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._intrinsic(key.removeprefix("Fn::"), inner)
            return {key: self.resolve(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _intrinsic(self, name: str, value: Any) -> Any:
        if name == "Ref":
            return self._ref(value)
        if name == "GetAtt":
            logical, attribute = value.split(".", 1) if isinstance(value, str) else value
            return self._attribute(logical, attribute)
        if name == "Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub_var(m.group(1))), value)
        if name == "Join":
            separator, items = value
            return separator.join(str(item) for item in self.resolve(items))
        raise ValueError(f"resources.yaml: intrinsic function {name} is not supported locally")

    def _sub_var(self, name: str) -> Any:
        if "." in name:
            return self._attribute(*name.split(".", 1))
        return self._ref(name)

    def _ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        return self.provision(name)["Ref"]

    def _attribute(self, logical: str, attribute: str) -> str:
        outputs = self.provision(logical)
        if attribute not in outputs:
            raise ValueError(f"resources.yaml: {logical}.{attribute} is not supported locally")
        return outputs[attribute]

    # -- resources ------------------------------------------------------------
    def provision_all(self) -> dict[str, str]:
        """Create every resource; returns the functions' environment (Globals), resolved."""
        for logical in self.template.get("Resources", {}):
            self.provision(logical)
        variables = self.template.get("Globals", {}).get("Function", {}).get("Environment", {})
        return {name: str(self.resolve(value)) for name, value in variables.get("Variables", {}).items()}

    def provision(self, logical: str) -> dict[str, str]:
        if logical in self.created:
            return self.created[logical]
        resource = self.template["Resources"][logical]
        kind = resource["Type"]
        properties = self.resolve(resource.get("Properties", {}))
        if kind in AWS_ONLY_TYPES:
            outputs = {"Ref": logical}
        else:
            creator = _CREATORS.get(kind)
            if creator is None:
                raise ValueError(f"resources.yaml: {logical} has type {kind}, which "
                                 "infra/local/provision.py cannot create yet: add it there")
            outputs = creator(self, properties)
        self.created[logical] = outputs
        return outputs

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id}:{resource}"

    def _table(self, props: dict) -> dict[str, str]:
        ddb = self.client("dynamodb")
        args = {key: props[key] for key in ("TableName", "AttributeDefinitions", "KeySchema")}
        args["BillingMode"] = props.get("BillingMode", "PAY_PER_REQUEST")
        indexes = props.get("GlobalSecondaryIndexes")
        if indexes:
            args["GlobalSecondaryIndexes"] = [
                {key: index[key] for key in ("IndexName", "KeySchema", "Projection")} for index in indexes
            ]
        ddb.create_table(**args)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True})
        return {"Ref": props["TableName"], "Arn": self._arn("dynamodb", f"table/{props['TableName']}")}

    def _queue(self, props: dict) -> dict[str, str]:
        attributes = {key: (json.dumps(value) if isinstance(value, dict) else str(value))
                      for key, value in props.items() if key not in ("QueueName", "Tags")}
        url = self.client("sqs").create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        return {"Ref": url, "Arn": self._arn("sqs", props["QueueName"]), "QueueName": props["QueueName"]}

    def _bucket(self, props: dict) -> dict[str, str]:
        name = props["BucketName"]
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if rules:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
                {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""},
                 "Expiration": {"Days": int(rule["ExpirationInDays"])}} for rule in rules]})
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}

    def _schedule_group(self, props: dict) -> dict[str, str]:
        self.client("scheduler").create_schedule_group(Name=props["Name"])
        return {"Ref": props["Name"], "Arn": self._arn("scheduler", f"schedule-group/{props['Name']}")}

    def _role(self, props: dict) -> dict[str, str]:
        iam = self.client("iam")
        role = iam.create_role(RoleName=props["RoleName"],
                               AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
        for policy in props.get("Policies", []):
            iam.put_role_policy(RoleName=props["RoleName"], PolicyName=policy["PolicyName"],
                                PolicyDocument=json.dumps(policy["PolicyDocument"]))
        return {"Ref": props["RoleName"], "Arn": role["Role"]["Arn"]}

    def _kms_key(self, props: dict) -> dict[str, str]:
        key = self.client("kms").create_key(Description=str(props.get("Description", "")))["KeyMetadata"]
        return {"Ref": key["KeyId"], "Arn": key["Arn"]}


_CREATORS: dict[str, Callable[[Provisioner, dict], dict[str, str]]] = {
    "AWS::DynamoDB::Table": Provisioner._table,
    "AWS::SQS::Queue": Provisioner._queue,
    "AWS::S3::Bucket": Provisioner._bucket,
    "AWS::Scheduler::ScheduleGroup": Provisioner._schedule_group,
    "AWS::IAM::Role": Provisioner._role,
    "AWS::KMS::Key": Provisioner._kms_key,
}


def provision(client: Callable[[str], Any], *, stage: str, region: str,
              template_path: Path = TEMPLATE_PATH) -> dict[str, str]:
    """Create every resource; returns the environment variables the functions get."""
    provisioner = Provisioner(load_template(template_path), client=client, stage=stage, region=region)
    return provisioner.provision_all()
