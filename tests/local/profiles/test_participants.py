"""Workshop participants in the emulator's aws profile: IAM users whose participant policy is
enforced as IAM would (resources and conditions), so one participant can neither touch
another's resources nor escalate; the owner's own keys are not limited."""

from __future__ import annotations

import json

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from streamlab.aws.session import Lab
from streamlab.local.participants import Participant, check_name, ensure_participant

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture(scope="module")
def owner(aws: Lab) -> Lab:
    """The emulator's owner: their keys are not limited by any participant policy."""
    return aws


def _as(person: Participant, owner: Lab, service: str) -> object:
    return boto3.Session(
        aws_access_key_id=person.access_key,
        aws_secret_access_key=person.secret_key,
        region_name=owner.region,
    ).client(service, endpoint_url=owner.endpoint, config=NO_RETRIES)


def _table(client: object, name: str, prefix: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "streamlab:kit", "Value": "streamlab"},
              {"Key": "streamlab:prefix", "Value": prefix}],
    )  # fmt: skip


def test_a_participant_works_under_their_prefix_and_nowhere_else(owner: Lab) -> None:
    ann = ensure_participant(owner, "ann")
    ddb = _as(ann, owner, "dynamodb")
    _table(ddb, "ann-Games", "ann-")
    with pytest.raises(ClientError) as denied:
        _table(ddb, "bob-Games", "bob-")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "streamlab-ann is not authorized to perform: dynamodb:CreateTable" in str(denied.value)
    assert "bob-Games" not in owner.dynamodb.list_tables()["TableNames"]  # nothing created
    assert _as(ann, owner, "sts").get_caller_identity()["Arn"].endswith("user/streamlab-ann")


def test_a_participant_cannot_escalate(owner: Lab) -> None:
    ann = ensure_participant(owner, "ann")
    iam = _as(ann, owner, "iam")
    with pytest.raises(ClientError) as no_boundary:  # a role without the room's boundary
        iam.create_role(RoleName="ann-admin", AssumeRolePolicyDocument=TRUST)
    assert no_boundary.value.response["Error"]["Code"] == "AccessDenied"
    iam.create_role(
        RoleName="ann-fn-role",
        AssumeRolePolicyDocument=TRUST,
        PermissionsBoundary=ann.boundary_arn,
        Tags=[{"Key": "streamlab:kit", "Value": "streamlab"},
              {"Key": "streamlab:prefix", "Value": "ann-"}],
    )  # fmt: skip
    with pytest.raises(ClientError) as remove:  # nor take the boundary off again
        iam.delete_role_permissions_boundary(RoleName="ann-fn-role")
    assert remove.value.response["Error"]["Code"] == "AccessDenied"
    names = [role["RoleName"] for role in owner.iam.list_roles()["Roles"]]
    assert "ann-admin" not in names and "ann-fn-role" in names


def test_the_owner_is_not_limited_and_unknown_keys_are_still_refused(owner: Lab) -> None:
    owner.dynamodb.create_table(
        TableName="anything",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stranger = boto3.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE12", aws_secret_access_key="x", region_name="us-east-1"
    ).client("dynamodb", endpoint_url=owner.endpoint, config=NO_RETRIES)
    with pytest.raises(ClientError) as refused:
        stranger.list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_asking_again_gives_a_working_key_and_bad_names_are_refused(owner: Lab) -> None:
    first = ensure_participant(owner, "cyd")
    again = ensure_participant(owner, "cyd")
    assert first.access_key != again.access_key
    assert _as(again, owner, "sts").get_caller_identity()["Arn"].endswith("user/streamlab-cyd")
    for bad in ("Ann", "a-b", "", "x" * 30):
        with pytest.raises(Exception, match="--participant"):
            check_name(bad)


def test_a_participant_may_delete_their_own_mapping_but_not_anothers(owner: Lab) -> None:
    """DeleteEventSourceMapping names only the UUID: IAM decides on the mapping's function."""
    from streamlab.aws import functions, mappings, tables

    ann, bob = ensure_participant(owner, "ann"), ensure_participant(owner, "bob")
    tables.create_table(owner, "ann-Src", hash_key=("k", "S"), stream_view_type="NEW_IMAGE")
    functions.deploy_function(
        owner, "ann-fn", "def lambda_handler(e, c):\n    return 1\n", streams=["ann-Src"]
    )
    mapping = _as(ann, owner, "lambda").create_event_source_mapping(
        EventSourceArn=mappings.stream_arn_of(owner, "ann-Src"),
        FunctionName="ann-fn",
        StartingPosition="TRIM_HORIZON",
        Tags={"streamlab:kit": "streamlab", "streamlab:prefix": "ann-"},
    )
    with pytest.raises(ClientError) as denied:
        _as(bob, owner, "lambda").delete_event_source_mapping(UUID=mapping["UUID"])
    assert "AccessDenied" in denied.value.response["Error"]["Code"]
    _as(ann, owner, "lambda").delete_event_source_mapping(UUID=mapping["UUID"])
