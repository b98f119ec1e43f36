"""Execution roles: trusted by Lambda only, permissions scoped to named resources."""

from __future__ import annotations

import json

import pytest

from streamlab.aws import roles
from streamlab.aws.session import Lab
from streamlab.errors import ConfigError, LabError


def _statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


def test_trust_policy_lets_only_lambda_assume_the_role() -> None:
    (statement,) = roles.trust_policy()["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


def test_logs_permissions_are_scoped_to_the_functions_log_group(lab: Lab) -> None:
    policy = roles.execution_policy(lab, "pfx-hello")
    logs = _statement(policy, "WriteOwnLogs")
    group = f"arn:aws:logs:{lab.region}:{lab.account_id}:log-group:/aws/lambda/pfx-hello"
    assert logs["Resource"] == [group, f"{group}:*"]
    assert set(logs["Action"]) == {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert len(policy["Statement"]) == 1, "no table, stream or queue access unless asked for"


def test_table_and_stream_permissions_name_the_tables(lab: Lab) -> None:
    policy = roles.execution_policy(
        lab, "f", tables=["Scores", "Scores"], streams=["Records"], queues=["dlq"]
    )
    table = f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table/Scores"
    tables = _statement(policy, "UseTables")
    assert tables["Resource"] == [table, f"{table}/index/*"]
    assert "dynamodb:UpdateItem" in tables["Action"]
    assert "dynamodb:DeleteTable" not in tables["Action"]
    streams = _statement(policy, "ReadStreams")
    assert streams["Resource"] == [
        f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table/Records/stream/*"
    ]
    assert set(streams["Action"]) == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    }
    assert _statement(policy, "ListStreams")["Action"] == "dynamodb:ListStreams"
    assert _statement(policy, "SendToQueues")["Resource"] == [
        f"arn:aws:sqs:{lab.region}:{lab.account_id}:dlq"
    ]
    wildcard = [s for s in policy["Statement"] if s["Resource"] == "*"]
    assert [s["Sid"] for s in wildcard] == ["ListStreams"]


def test_permissions_boundary_comes_from_the_environment() -> None:
    arn = "arn:aws:iam::123456789012:policy/LabBoundary"
    assert roles.permissions_boundary({}) is None
    assert roles.permissions_boundary({"LAB_PERMISSIONS_BOUNDARY": arn}) == arn
    with pytest.raises(ConfigError, match="not an IAM policy ARN"):
        roles.permissions_boundary({"LAB_PERMISSIONS_BOUNDARY": "LabBoundary"})


def test_role_is_created_tagged_and_converges_to_the_policy(lab: Lab) -> None:
    name = lab.name("iam-probe")
    first = roles.execution_policy(lab, name, tables=["A"])
    arn, status = roles.ensure_execution_role(
        lab, name, first, boundary="arn:aws:iam::123456789012:policy/LabBoundary"
    )
    assert status == "created" and arn.endswith(f":role/{name}-role")
    role = lab.iam.get_role(RoleName=f"{name}-role")["Role"]
    assert role["AssumeRolePolicyDocument"] == roles.trust_policy()
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("policy/LabBoundary")
    tags = {t["Key"]: t["Value"] for t in role["Tags"]}
    assert tags == roles.lab_tags(lab)

    second = roles.execution_policy(lab, name)  # the table was removed from the cell
    again, status = roles.ensure_execution_role(lab, name, second)
    assert (again, status) == (arn, "updated")
    assert roles.ensure_execution_role(lab, name, second) == (arn, "unchanged")
    stored = lab.iam.get_role_policy(RoleName=f"{name}-role", PolicyName="streamlab-execution")
    document = stored["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    assert document == second

    assert roles.delete_execution_role(lab, name) is True
    assert roles.delete_execution_role(lab, name) is False


def test_overlong_role_names_are_refused_with_a_hint() -> None:
    with pytest.raises(LabError, match="shorter function name"):
        roles.role_name_for("x" * 60)


def test_the_policy_allows_exactly_the_named_resources(lab: Lab) -> None:
    """Evaluated with moto's IAM policy engine, the one the emulator's checks use."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    policy = IAMPolicy(
        json.dumps(
            roles.execution_policy(
                lab, "agg", tables=["Scores"], streams=["Records"], queues=["dlq"]
            )
        )
    )
    arn = f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table"
    stream = f"{arn}/Records/stream/2026-11-27T10:00:00.000"
    group = f"arn:aws:logs:{lab.region}:{lab.account_id}:log-group:/aws/lambda/agg"

    def allowed(action: str, resource: str) -> bool:
        return policy.is_action_permitted(action, resource) == PermissionResult.PERMITTED

    assert allowed("dynamodb:UpdateItem", f"{arn}/Scores")
    assert not allowed("dynamodb:UpdateItem", f"{arn}/SomeoneElsesTable")
    assert not allowed("dynamodb:DeleteTable", f"{arn}/Scores")
    for action in ("GetRecords", "GetShardIterator", "DescribeStream", "ListStreams"):
        assert allowed(f"dynamodb:{action}", stream)
    assert not allowed("dynamodb:GetRecords", f"{arn}/Other/stream/2026-11-27T10:00:00.000")
    assert allowed("logs:PutLogEvents", f"{group}:log-stream:2026/11/27/[$LATEST]abc")
    assert not allowed("logs:PutLogEvents", f"{group}-other:log-stream:x")
    assert allowed("sqs:SendMessage", f"arn:aws:sqs:{lab.region}:{lab.account_id}:dlq")
    assert not allowed("sqs:SendMessage", f"arn:aws:sqs:{lab.region}:{lab.account_id}:other")


def _denying_lab(operation: str):
    """A lab whose IAM has no such role yet and denies ``operation`` (a workshop account)."""
    from types import SimpleNamespace

    import boto3
    from botocore.stub import Stubber

    client = boto3.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE12", aws_secret_access_key="x", region_name="eu-west-1"
    ).client("iam")
    stub = Stubber(client)
    stub.add_client_error("get_role", "NoSuchEntity", "no role", 404)
    stub.add_client_error(operation, "AccessDenied", "User is not authorized", 403)
    lab = SimpleNamespace(
        iam=client, prefix="alice-", account_id="111122223333", region="eu-west-1"
    )
    return lab, stub


def test_a_role_denied_for_want_of_the_boundary_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab, stub = _denying_lab("create_role")
    with stub, pytest.raises(LabError) as raised:
        roles.ensure_execution_role(lab, "alice-f", roles.execution_policy(lab, "alice-f"))
    message = str(raised.value)
    assert "\n" not in message
    assert (
        "set LAB_PERMISSIONS_BOUNDARY=arn:aws:iam::111122223333:policy/"
        "streamlab-participant-boundary" in message
    )


def test_a_role_denied_with_a_boundary_points_at_the_boundary_and_the_policy() -> None:
    lab, stub = _denying_lab("create_role")
    boundary = "arn:aws:iam::111122223333:policy/Other"
    with stub, pytest.raises(LabError, match="is the room's boundary") as raised:
        roles.ensure_execution_role(
            lab, "alice-f", roles.execution_policy(lab, "alice-f"), boundary=boundary
        )
    assert boundary in str(raised.value) and "'alice-'" in str(raised.value)


def test_may_read_stream_reads_the_functions_inline_policy(lab: Lab) -> None:
    from streamlab.aws import functions

    code = "def lambda_handler(event, context):\n    return 1\n"
    stream = roles.table_arn(lab, lab.name("UnitRoleGames")) + "/stream/2026-01-01T00:00:00.000"
    functions.deploy_function(lab, "unit-reader", code, streams=[lab.name("UnitRoleGames")])
    functions.deploy_function(lab, "unit-no-reader", code, tables=[lab.name("UnitRoleGames")])
    try:
        assert roles.may_read_stream(lab, lab.name("unit-reader"), stream) is True
        assert roles.may_read_stream(lab, lab.name("unit-no-reader"), stream) is False
        assert roles.may_read_stream(lab, lab.name("unit-missing"), stream) is None
    finally:
        for name in ("unit-reader", "unit-no-reader"):
            functions.delete_function(lab, name)
