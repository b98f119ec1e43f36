"""doctor on the aws backend: the permission check reads IAM's policy simulation."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from streamlab.tooling.doctor import check_permissions, principal_arn

ACCOUNT = "111122223333"


def _fake_lab(denied: set[str], simulation_error: str | None = None):
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE12", aws_secret_access_key="x", region_name="eu-west-1"
    )
    sts, iam = session.client("sts"), session.client("iam")
    sts_stub, iam_stub = Stubber(sts), Stubber(iam)
    sts_stub.add_response(
        "get_caller_identity",
        {
            "Account": ACCOUNT,
            "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Participant/alice",
            "UserId": "AROA:alice",
        },
    )
    return (
        SimpleNamespace(sts=sts, iam=iam, prefix="alice-", region="eu-west-1"),
        sts_stub,
        iam_stub,
    )


def _answer(iam_stub: Stubber, actions: list[str], resource: str, denied: set[str]) -> None:
    iam_stub.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {
                    "EvalActionName": action,
                    "EvalDecision": "implicitDeny" if action in denied else "allowed",
                }
                for action in actions
            ],
            "IsTruncated": False,
        },
        {
            "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/Participant",
            "ActionNames": actions,
            "ResourceArns": [resource],
        },
    )


def test_assumed_role_session_is_simulated_as_its_role() -> None:
    assert principal_arn("arn:aws:sts::1:assumed-role/R/session") == "arn:aws:iam::1:role/R"
    assert principal_arn("arn:aws:iam::1:user/bob") == "arn:aws:iam::1:user/bob"


@pytest.mark.parametrize("denied", [set(), {"dynamodb:PutItem"}])
def test_permissions_pass_only_when_every_action_is_allowed(denied: set[str]) -> None:
    lab, sts_stub, iam_stub = _fake_lab(denied)
    table = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/alice-streamlab-check"
    _answer(iam_stub, ["dynamodb:ListTables"], "*", denied)
    _answer(iam_stub, ["dynamodb:PutItem"], table, denied)
    with sts_stub, iam_stub:
        check = check_permissions(lab, ["dynamodb:ListTables", "dynamodb:PutItem"])
        iam_stub.assert_no_pending_responses()
    assert check.ok is (not denied)
    if denied:
        assert "dynamodb:PutItem" in check.detail and "participant-policy.json" in check.detail


def test_simulation_not_allowed_is_reported_not_failed() -> None:
    lab, sts_stub, iam_stub = _fake_lab(set())
    iam_stub.add_client_error("simulate_principal_policy", "AccessDenied", "no")
    with sts_stub, iam_stub:
        check = check_permissions(lab, ["dynamodb:ListTables"])
    assert check.ok and "not checked (AccessDenied" in check.detail
