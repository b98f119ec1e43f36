"""connect_stream: one mapping per stream and function, updated in place, waited for."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from streamlab.aws.mappings import connect_stream, delete_mapping, stream_arn_of
from streamlab.aws.queues import create_queue, receive_all
from streamlab.aws.roles import trust_policy
from streamlab.aws.session import Lab
from streamlab.errors import LabError
from streamlab.local.pollers.permissions import STREAM_ACTIONS


def _function(lab: Lab, name: str) -> None:
    role = lab.iam.create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust_policy())
    )
    stream_access = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(STREAM_ACTIONS), "Resource": "*"}],
    }
    lab.iam.put_role_policy(
        RoleName=f"{name}-role", PolicyName="streams", PolicyDocument=json.dumps(stream_access)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    lab.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
    )


def _table(lab: Lab, name: str, stream: bool = True) -> None:
    arguments = {}
    if stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    lab.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **arguments,
    )


def test_connect_twice_updates_the_same_mapping_then_delete(lab: Lab) -> None:
    _table(lab, "MappingsScores")
    _function(lab, "mappings-aggregator")
    first = connect_stream(lab, "MappingsScores", "mappings-aggregator", BatchSize=10)
    assert first["State"] == "Enabled" and first["BatchSize"] == 10
    assert first["EventSourceArn"] == stream_arn_of(lab, "MappingsScores")
    second = connect_stream(lab, "MappingsScores", "mappings-aggregator", BatchSize=50)
    assert second["UUID"] == first["UUID"] and second["BatchSize"] == 50
    listed = lab.lambda_.list_event_source_mappings(FunctionName="mappings-aggregator")
    assert len(listed["EventSourceMappings"]) == 1
    delete_mapping(lab, first["UUID"])
    assert (
        lab.lambda_.list_event_source_mappings(FunctionName="mappings-aggregator")[
            "EventSourceMappings"
        ]
        == []
    )


def test_role_without_stream_permissions_is_refused_with_aws_wording(lab: Lab) -> None:
    _table(lab, "MappingsNoRights")
    _function(lab, "mappings-no-rights")
    lab.iam.delete_role_policy(RoleName="mappings-no-rights-role", PolicyName="streams")
    with pytest.raises(LabError, match="^Cannot access stream .*GetRecords.*--stream") as raised:
        connect_stream(lab, "MappingsNoRights", "mappings-no-rights")
    assert "\n" not in str(raised.value)


def test_table_without_stream_says_how_to_enable_it(lab: Lab) -> None:
    _table(lab, "MappingsNoStream", stream=False)
    with pytest.raises(LabError, match="has no stream: enable one"):
        connect_stream(lab, "MappingsNoStream", "anything")


def test_missing_table_and_unknown_setting_are_one_line_errors(lab: Lab) -> None:
    with pytest.raises(LabError, match="does not exist"):
        stream_arn_of(lab, "MappingsNoSuchTable")
    with pytest.raises(LabError, match="Unknown mapping setting"):
        connect_stream(lab, "MappingsScores", "mappings-aggregator", BatchSise=10)


def test_queue_is_created_idempotently_and_read_back(lab: Lab) -> None:
    queue = create_queue(lab, "mappings-failures")
    assert create_queue(lab, "mappings-failures") == queue
    assert queue["QueueArn"].endswith(":mappings-failures")
    lab.sqs.send_message(QueueUrl=queue["QueueUrl"], MessageBody=json.dumps({"batchSize": 2}))
    lab.sqs.send_message(QueueUrl=queue["QueueUrl"], MessageBody="plain text")
    assert sorted(map(str, receive_all(lab, queue["QueueUrl"]))) == [
        "plain text",
        "{'batchSize': 2}",
    ]
    assert receive_all(lab, queue["QueueUrl"], wait_seconds=0) == []
