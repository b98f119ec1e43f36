"""Cleanup deletes exactly one participant's resources, in every region, and proves it."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from streamlab.aws.roles import trust_policy
from streamlab.aws.session import Lab, connect
from streamlab.aws.tags import prefix_tag_list, prefix_tags
from streamlab.config import load_config
from streamlab.errors import LabError
from streamlab.local.pollers.permissions import STREAM_ACTIONS
from streamlab.tooling.cleanup import cleanup, find_resources

TRUST = json.dumps(trust_policy())


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def _lab(emulator: str, prefix: str) -> Lab:
    return connect(load_config({"LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix}))


def _make_everything(lab: Lab, tag_prefix: str | None = None) -> None:
    """A table with a stream, a function wired to it, its role, logs, a queue and a topic."""
    tag_prefix = lab.prefix if tag_prefix is None else tag_prefix
    for region in (lab.region, lab.config.replica_region):
        lab.client("dynamodb", region).create_table(
            TableName=lab.name("Scores"),
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            Tags=prefix_tag_list(tag_prefix),
        )
    role = lab.iam.create_role(
        RoleName=lab.name("aggregator-role"),
        AssumeRolePolicyDocument=TRUST,
        Tags=prefix_tag_list(tag_prefix),
    )["Role"]
    stream_access = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(STREAM_ACTIONS), "Resource": "*"}],
    }
    lab.iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="inline", PolicyDocument=json.dumps(stream_access)
    )
    lab.lambda_.create_function(
        FunctionName=lab.name("aggregator"),
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="handler.lambda_handler",
        Code={"ZipFile": _zip()},
        Tags=prefix_tags(tag_prefix),
    )
    stream_arn = lab.dynamodb.describe_table(TableName=lab.name("Scores"))["Table"][
        "LatestStreamArn"
    ]
    lab.lambda_.create_event_source_mapping(
        FunctionName=lab.name("aggregator"),
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        Enabled=False,
    )
    lab.logs.create_log_group(logGroupName=f"/aws/lambda/{lab.name('aggregator')}")
    lab.sqs.create_queue(QueueName=lab.name("failures"), tags=prefix_tags(tag_prefix))
    lab.sns.create_topic(Name=lab.name("alerts"), Tags=prefix_tag_list(tag_prefix))


def test_cleanup_deletes_everything_under_the_prefix_and_nothing_else(emulator: str) -> None:
    mine, other, longer = (
        _lab(emulator, "cleanme-"),
        _lab(emulator, "keepme-"),
        _lab(emulator, "cleanme-too-"),
    )
    for lab in (mine, other, longer):
        _make_everything(lab)

    dry = cleanup(mine, dry_run=True)
    kinds = sorted({resource.kind for resource in dry.found})
    assert kinds == sorted(
        ["event source mapping", "function", "log group", "queue", "role", "table", "topic"]
    )
    assert [r.region for r in dry.found if r.kind == "table"] == ["us-east-1", "us-west-2"]
    assert all(not r.name.startswith("cleanme-too-") for r in dry.found)
    assert find_resources(mine) == dry.found  # a dry run deletes nothing

    report = cleanup(mine)
    assert report.clean, report.summary()
    assert sorted(map(str, report.deleted)) == sorted(map(str, dry.found))
    assert find_resources(mine) == []
    assert len(find_resources(other)) == len(dry.found)
    assert len(find_resources(longer)) == len(dry.found)
    for lab in (other, longer):
        assert cleanup(lab).clean


def test_cleanup_refuses_an_empty_prefix_on_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    lab = connect(load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "LAB_PREFIX": ""}))
    with pytest.raises(LabError, match="LAB_PREFIX"):
        cleanup(lab, dry_run=True)
