"""infra/resources.yaml provisions the emulator: every resource, with its settings."""
import json

import pytest

from infra.local.provision import Provisioner, load_template


def test_every_table_exists_with_its_keys_and_ttl(aws):
    template = load_template()
    tables = {r["Properties"]["TableName"].value.replace("${Stage}", "dev"): r["Properties"]
              for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"}
    ddb = aws("dynamodb")
    assert set(tables) <= set(ddb.list_tables()["TableNames"])
    for name, props in tables.items():
        described = ddb.describe_table(TableName=name)["Table"]
        assert described["KeySchema"] == props["KeySchema"]
        declared_indexes = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])}
        assert {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])} == declared_indexes
        if "TimeToLiveSpecification" in props:
            ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


@pytest.mark.parametrize("queue", ["sms", "email", "runs"])
def test_each_job_queue_redrives_to_its_dlq_after_three_tries(aws, queue):
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=f"hat-dev-{queue}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":hat-dev-{queue}-dlq")
    assert int(redrive["maxReceiveCount"]) == 3
    assert sqs.get_queue_url(QueueName=f"hat-dev-{queue}-dlq")


def test_bucket_group_and_role_exist_and_globals_become_environment(aws):
    import os

    bucket = os.environ["HAT_REPORTS_BUCKET"]
    assert bucket == "hat-dev-reports-123456789012"
    aws("s3").head_bucket(Bucket=bucket)
    rules = aws("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["Expiration"]["Days"] == 90
    assert aws("scheduler").get_schedule_group(Name="hat-dev")["State"] == "ACTIVE"
    role = aws("iam").get_role(RoleName="hat-dev-scheduler")["Role"]
    assert os.environ["HAT_SCHEDULER_ROLE_ARN"] == role["Arn"]
    assert os.environ["HAT_RUNS_QUEUE_ARN"].endswith(":hat-dev-runs")


def test_an_unknown_resource_type_is_refused_loudly():
    template = {"Resources": {"Thing": {"Type": "AWS::Kinesis::Stream", "Properties": {}}}}
    provisioner = Provisioner(template, client=lambda name: None, stage="dev", region="us-east-1")
    with pytest.raises(ValueError, match="AWS::Kinesis::Stream"):
        provisioner.provision_all()
