"""doctor on the aws backend: the permission check reads IAM's policy simulation."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import boto3
import pytest
from aws_stubs import StubbedLab
from botocore.stub import Stubber

from streamlab.tooling import doctor
from streamlab.tooling.doctor import (
    Check,
    check_lambda_concurrency,
    check_permissions,
    check_regions,
    not_checked,
    principal_arn,
    resolve_principal,
)

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
    iam_stub.add_response(
        "get_role",
        {
            "Role": {
                "Path": "/",
                "RoleName": "Participant",
                "RoleId": "AROAEXAMPLEEXAMPLE123",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/Participant",
                "CreateDate": "2026-01-01T00:00:00Z",
            }
        },
        {"RoleName": "Participant"},
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


def test_simulation_not_allowed_is_not_checked_never_a_pass() -> None:
    lab, sts_stub, iam_stub = _fake_lab(set())
    iam_stub.add_client_error("simulate_principal_policy", "AccessDenied", "no")
    with sts_stub, iam_stub:
        check = check_permissions(lab, ["dynamodb:ListTables"])
    assert not check.ok and not check.checked
    assert check.line().startswith("----  permissions: not checked: AccessDenied")
    assert "PASS" not in check.line()


def test_sso_role_arns_keep_their_path() -> None:
    """IAM Identity Center roles live under /aws-reserved/sso.amazonaws.com/: the STS ARN
    drops that path, and a simulation of the path-less ARN fails with NoSuchEntity."""
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE12", aws_secret_access_key="x", region_name="eu-west-1"
    )
    iam = session.client("iam")
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Lab_0a1b2c3d/alice@example.org"
    with Stubber(iam) as stub:
        stub.add_client_error("get_role", "AccessDenied", "no")
        guessed = resolve_principal(SimpleNamespace(iam=iam), caller)
        real = (
            f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_Lab_0a1b2c3d"
        )
        stub.add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/",
                    "RoleName": "AWSReservedSSO_Lab_0a1b2c3d",
                    "RoleId": "AROAEXAMPLEEXAMPLE123",
                    "Arn": real,
                    "CreateDate": "2026-01-01T00:00:00Z",
                }
            },
        )
        read = resolve_principal(SimpleNamespace(iam=iam), caller)
    assert guessed == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Lab_0a1b2c3d"
    )
    assert read == real


def _settings_lab(answer: dict | None = None, error: str | None = None) -> StubbedLab:
    lab = StubbedLab()
    stub = lab.stub("lambda")
    if error:
        stub.add_client_error("get_account_settings", error, "no", 403)
    else:
        stub.add_response("get_account_settings", answer or {})
    return lab


def test_a_low_lambda_concurrency_quota_fails_with_what_to_do() -> None:
    low = _settings_lab({"AccountLimit": {"ConcurrentExecutions": 10}})
    check = check_lambda_concurrency(low)
    assert check.checked and not check.ok
    assert "10 concurrent executions" in check.detail and "Service Quotas" in check.detail
    enough = _settings_lab({"AccountLimit": {"ConcurrentExecutions": 1000}})
    assert check_lambda_concurrency(enough).ok
    denied = check_lambda_concurrency(_settings_lab(error="AccessDeniedException"))
    assert not denied.checked and "GetAccountSettings" in denied.detail


def test_regions_must_differ_and_the_replica_must_be_usable() -> None:
    lab = StubbedLab()
    lab.stub("dynamodb", "us-west-2").add_response("list_tables", {"TableNames": []})
    check = check_regions(lab)
    assert check.ok and "lab eu-west-1, replica us-west-2" in check.detail
    same = StubbedLab()
    same.config = dataclasses.replace(same.config, replica_region="eu-west-1")
    assert not check_regions(same).ok
    closed = StubbedLab()
    closed.stub("dynamodb", "us-west-2").add_client_error(
        "list_tables", "UnrecognizedClientException", "The security token is invalid", 400
    )
    failed = check_regions(closed)
    assert failed.checked and not failed.ok and "LAB_REPLICA_REGION" in failed.detail


def test_something_not_checked_is_not_all_passed(monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        doctor,
        "run_checks",
        lambda: [Check("python", True, "3.12"), not_checked("permissions", "AccessDenied")],
    )
    assert doctor.main() == 2
    out = capsys.readouterr().out
    assert "all checks passed" not in out and "1 check(s) not checked" in out


class _RecordingIam:
    """An IAM client whose simulation allows everything and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[dict] = []

    def get_paginator(self, name: str) -> _RecordingIam:
        assert name == "simulate_principal_policy"
        return self

    def paginate(self, **kwargs):
        self.asked.append(kwargs)
        results = [{"EvalActionName": a, "EvalDecision": "allowed"} for a in kwargs["ActionNames"]]
        return [{"EvaluationResults": results}]


def test_each_action_is_simulated_on_its_real_arn_shape_with_its_condition_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tagging a mapping on create is authorised on the mapping's ARN, not a function's."""
    monkeypatch.delenv("LAB_PERMISSIONS_BOUNDARY", raising=False)
    sts = SimpleNamespace(
        get_caller_identity=lambda: {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/a"}
    )
    iam = _RecordingIam()
    lab = SimpleNamespace(sts=sts, iam=iam, prefix="alice-", region="eu-west-1")
    check = check_permissions(
        lab, ["lambda:CreateEventSourceMapping", "lambda:CreateFunction", "iam:CreateRole"]
    )
    assert check.ok
    asked = {
        (action, call["ResourceArns"][0]): {
            e["ContextKeyName"]: e["ContextKeyValues"] for e in call.get("ContextEntries", [])
        }
        for call in iam.asked
        for action in call["ActionNames"]
    }
    mapping = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:event-source-mapping:"
    function = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:alice-streamlab-check"
    tag_arns = [arn for action, arn in asked if action == "lambda:TagResource"]
    assert function in tag_arns and any(arn.startswith(mapping) for arn in tag_arns)
    (create,) = [(a, r) for a, r in asked if a == "lambda:CreateEventSourceMapping"]
    assert create[1].startswith(mapping)
    assert asked[create]["lambda:FunctionArn"] == [function]
    (role,) = [(a, r) for a, r in asked if a == "iam:CreateRole"]
    assert asked[role]["iam:PermissionsBoundary"] == [
        f"arn:aws:iam::{ACCOUNT}:policy/streamlab-participant-boundary"
    ]
    (passed,) = [(a, r) for a, r in asked if a == "iam:PassRole"]
    assert asked[passed]["iam:PassedToService"] == ["lambda.amazonaws.com"]
