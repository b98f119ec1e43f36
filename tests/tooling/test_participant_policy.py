"""The participant policy allows exactly the recorded actions, scoped to the prefix."""

from __future__ import annotations

from streamlab.tooling.participant_policy import (
    allowed_actions,
    participant_policy,
    render,
    with_implied,
)

RECORDED = {
    "dynamodb:CreateTable",
    "dynamodb:ListTables",
    "dynamodb:GetRecords",
    "lambda:CreateFunction",
    "lambda:InvokeFunction",
    "lambda:CreateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
    "logs:FilterLogEvents",
    "iam:CreateRole",
    "iam:DeleteRole",
    "sqs:SendMessage",
    "sts:GetCallerIdentity",
}


def _statement_for(policy: dict, action: str) -> dict:
    (statement,) = [s for s in policy["Statement"] if action in s["Action"]]
    return statement


def test_allows_exactly_the_recorded_actions_and_what_aws_also_checks() -> None:
    policy = participant_policy(RECORDED, prefix="alice-")
    implied = {
        "iam:PassRole",
        "iam:TagRole",
        "lambda:TagResource",
        "dynamodb:TagResource",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
    }
    assert allowed_actions(policy) == RECORDED | implied
    assert with_implied(RECORDED) - RECORDED == implied


def test_resources_are_scoped_to_the_prefix_where_aws_allows() -> None:
    policy = participant_policy(RECORDED, prefix="alice-")
    assert _statement_for(policy, "dynamodb:CreateTable")["Resource"][0] == (
        "arn:aws:dynamodb:*:*:table/alice-*"
    )
    assert _statement_for(policy, "lambda:InvokeFunction")["Resource"][0] == (
        "arn:aws:lambda:*:*:function:alice-*"
    )
    assert _statement_for(policy, "iam:CreateRole")["Resource"] == ["arn:aws:iam::*:role/alice-*"]
    assert _statement_for(policy, "dynamodb:ListTables")["Resource"] == "*"
    assert _statement_for(policy, "lambda:CreateEventSourceMapping")["Resource"] == "*"


def test_pass_role_only_to_lambda_and_boundary_enforced_on_create_role() -> None:
    boundary = "arn:aws:iam::111122223333:policy/workshop-boundary"
    policy = participant_policy(RECORDED, prefix="bob-", boundary_arn=boundary)
    pass_role = _statement_for(policy, "iam:PassRole")
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    assert _statement_for(policy, "iam:CreateRole")["Condition"] == {
        "StringEquals": {"iam:PermissionsBoundary": boundary}
    }
    assert "Condition" not in _statement_for(policy, "iam:DeleteRole")


def test_rendering_is_stable() -> None:
    assert render(participant_policy(RECORDED)) == render(participant_policy(set(RECORDED)))
