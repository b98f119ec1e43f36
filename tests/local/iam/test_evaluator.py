"""The IAM evaluator decides as IAM documents it, case by case.

Cases marked "AWS:" restate an example or rule of AWS's IAM User Guide
(policy evaluation logic, the Condition operators, single- vs multi-valued
keys, policy variables, permissions boundaries).
"""

from __future__ import annotations

import pytest

from streamlab.local.iam.evaluator import (
    PolicyError,
    Request,
    arn_match,
    evaluate,
    evaluate_all,
    glob_match,
)

ACCOUNT = "111122223333"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/alice-scores"


def policy(*statements: dict, version: str = "2012-10-17") -> dict:
    return {"Version": version, "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# -- the decision ---------------------------------------------------------------------------


def test_nothing_allows_so_the_request_is_implicitly_denied() -> None:
    """AWS: by default all requests are implicitly denied."""
    decision = evaluate(Request("dynamodb:GetItem", TABLE), [policy()])
    assert not decision.allowed and not decision.explicit_deny
    assert "implicitly denied" in decision.reason


def test_an_explicit_deny_overrides_any_allow_in_any_policy() -> None:
    """AWS: an explicit deny in any policy overrides any allow."""
    allow_all = policy(allow("*"))
    deny_table = policy(deny("dynamodb:*", TABLE))
    decision = evaluate(Request("dynamodb:GetItem", TABLE), [allow_all, deny_table])
    assert not decision.allowed and decision.explicit_deny
    assert evaluate(Request("dynamodb:GetItem", TABLE + "2"), [allow_all, deny_table]).allowed


def test_the_permissions_boundary_intersects_with_identity_policies() -> None:
    """AWS: effective permissions are what both the identity policy and the boundary allow."""
    identity = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"]))
    boundary = policy(allow(["s3:*", "cloudwatch:*", "iam:GetUser"]))
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::b/k"), [identity], boundary=boundary)
    denied = evaluate(Request("ec2:RunInstances"), [identity], boundary=boundary)
    assert not denied and "boundary" in denied.reason
    # The boundary alone grants nothing.
    assert not evaluate(Request("iam:GetUser"), [identity], boundary=boundary)


def test_a_deny_in_the_boundary_wins() -> None:
    boundary = policy(allow("*"), deny("iam:*"))
    decision = evaluate(Request("iam:CreateRole"), [policy(allow("*"))], boundary=boundary)
    assert not decision.allowed and decision.explicit_deny


def test_every_authorisation_of_a_call_must_be_allowed() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/alice-role"
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:alice-f"
    only_create = policy(allow("lambda:CreateFunction", function))
    both = [Request("lambda:CreateFunction", function), Request("iam:PassRole", role)]
    decision = evaluate_all(both, [only_create])
    assert not decision.allowed and "iam:PassRole" in decision.reason
    assert evaluate_all(both, [policy(allow(["lambda:CreateFunction", "iam:PassRole"]))])


# -- actions and resources ------------------------------------------------------------------


def test_actions_match_case_insensitively_with_both_wildcards() -> None:
    """AWS: action names are not case-sensitive (iam:ListAccessKeys = IAM:listaccesskeys)."""
    assert evaluate(Request("dynamodb:GetItem", TABLE), [policy(allow("DYNAMODB:getitem"))])
    assert evaluate(Request("dynamodb:GetItem", TABLE), [policy(allow("dynamodb:Get*"))])
    assert evaluate(Request("dynamodb:GetItem", TABLE), [policy(allow("dynamodb:?etItem"))])
    assert not evaluate(Request("dynamodb:GetItems", TABLE), [policy(allow("dynamodb:?etItem"))])
    assert not evaluate(Request("dynamodbx:GetItem", TABLE), [policy(allow("dynamodb:*"))])


def test_not_action_allows_everything_else_and_only_that() -> None:
    """AWS: NotAction with Allow allows all actions except the ones listed."""
    everything_but_iam = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate(Request("s3:ListAllMyBuckets"), [everything_but_iam])
    assert not evaluate(Request("iam:CreateUser"), [everything_but_iam])


def test_resources_are_case_sensitive() -> None:
    assert not evaluate(
        Request("dynamodb:GetItem", TABLE),
        [policy(allow("dynamodb:GetItem", TABLE.replace("alice", "Alice")))],
    )


def test_resource_wildcards_stay_within_one_arn_part() -> None:
    """AWS: each of the ARN's colon-delimited parts is matched on its own."""
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:alice-f"
    assert arn_match("arn:aws:lambda:*:*:function:alice-*", function)
    assert arn_match("arn:aws:lambda:us-?ast-1:*:function:*", function)
    # One * cannot stand for region and account together.
    assert not arn_match("arn:aws:lambda:*:function:alice-f", function)
    # The resource part may itself hold colons (versions, aliases).
    assert arn_match("arn:aws:lambda:*:*:function:alice-*", function + ":live")
    assert not arn_match("arn:aws:lambda:*:*:function:bob-*", function)
    assert arn_match("*", function)
    # An action without a resource type is authorised on "*", which no ARN pattern covers.
    assert not evaluate(Request("lambda:ListFunctions", "*"), [policy(allow("lambda:*", function))])


def test_not_resource_denies_everything_outside_the_list() -> None:
    guard = policy(
        allow("dynamodb:*"), {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": TABLE}
    )
    assert evaluate(Request("dynamodb:GetItem", TABLE), [guard])
    assert not evaluate(Request("dynamodb:GetItem", TABLE + "-other"), [guard])


def test_glob_match_is_literal_apart_from_the_two_wildcards() -> None:
    assert glob_match("a.b*", "a.bcd")
    assert not glob_match("a.b", "axb")
    assert glob_match("a[1]", "a[1]")


# -- conditions -----------------------------------------------------------------------------


def _decide(condition: dict, context: dict, action: str = "iam:CreateRole") -> bool:
    return evaluate(
        Request(action, "*", context), [policy(allow("*", Condition=condition))]
    ).allowed


def test_a_missing_key_fails_a_condition_but_passes_its_negation() -> None:
    """AWS: a missing key makes a condition false, and StringNotEquals/ArnNotLike true."""
    key = {"iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/b"}
    assert not _decide({"StringEquals": key}, {})
    assert _decide({"StringNotEquals": key}, {})
    assert _decide({"ArnNotLike": key}, {})
    assert not _decide({"ArnLike": key}, {})


def test_if_exists_passes_when_the_key_is_missing_only() -> None:
    condition = {"StringEqualsIfExists": {"aws:RequestTag/team": "blue"}}
    assert _decide(condition, {})
    assert _decide(condition, {"aws:RequestTag/team": "blue"})
    assert not _decide(condition, {"aws:RequestTag/team": "red"})


def test_null_tests_presence() -> None:
    """AWS: Null "true" means the key is absent, "false" that it is present."""
    assert _decide({"Null": {"aws:TagKeys": "true"}}, {})
    assert not _decide({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": ["a"]})
    assert _decide({"Null": {"aws:TagKeys": "false"}}, {"aws:TagKeys": ["a"]})


def test_values_are_alternatives_and_keys_and_operators_all_must_hold() -> None:
    """AWS: OR across the values of one key, AND across keys and operators."""
    condition = {
        "StringEquals": {"aws:RequestTag/team": ["blue", "green"], "aws:RequestTag/env": "lab"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    context = {
        "aws:RequestTag/team": "green",
        "aws:RequestTag/env": "lab",
        "aws:SecureTransport": True,
    }
    assert _decide(condition, context)
    assert not _decide(condition, context | {"aws:RequestTag/env": "prod"})
    assert not _decide(condition, context | {"aws:SecureTransport": False})


def test_condition_keys_ignore_case_but_values_do_not() -> None:
    assert _decide(
        {"StringEquals": {"AWS:REQUESTTAG/Team": "blue"}}, {"aws:requesttag/team": "blue"}
    )
    assert not _decide(
        {"StringEquals": {"aws:RequestTag/team": "Blue"}}, {"aws:RequestTag/team": "blue"}
    )
    assert _decide(
        {"StringEqualsIgnoreCase": {"aws:RequestTag/team": "Blue"}}, {"aws:RequestTag/team": "blue"}
    )


def test_string_like_and_arn_like_use_wildcards() -> None:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:alice-f"
    assert _decide(
        {"ArnLike": {"lambda:FunctionArn": "arn:aws:lambda:*:*:function:alice-*"}},
        {"lambda:FunctionArn": arn},
    )
    assert not _decide(
        {"ArnLike": {"lambda:FunctionArn": "arn:aws:lambda:*:*:function:bob-*"}},
        {"lambda:FunctionArn": arn},
    )
    assert _decide(
        {"StringLike": {"iam:PassedToService": "lambda.*"}},
        {"iam:PassedToService": "lambda.amazonaws.com"},
    )
    assert not _decide(
        {"StringNotLike": {"iam:PassedToService": "lambda.*"}},
        {"iam:PassedToService": "lambda.amazonaws.com"},
    )


def test_for_all_values_is_true_for_a_missing_or_empty_key() -> None:
    """AWS: ForAllValues returns true if the key is missing or has no values (use Null too)."""
    only_known = {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["streamlab:kit", "streamlab:prefix"]}
    }
    assert _decide(only_known, {})
    assert _decide(only_known, {"aws:TagKeys": []})
    assert _decide(only_known, {"aws:TagKeys": ["streamlab:prefix"]})
    assert not _decide(only_known, {"aws:TagKeys": ["streamlab:prefix", "owner"]})


def test_for_any_value_needs_one_matching_value_and_a_present_key() -> None:
    any_admin = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["admin"]}}
    assert not _decide(any_admin, {})
    assert _decide(any_admin, {"aws:TagKeys": ["x", "admin"]})
    assert not _decide(any_admin, {"aws:TagKeys": ["x"]})
    # Negated: at least one value is none of the listed ones.
    assert _decide(
        {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["a", "b"]}
    )
    assert not _decide(
        {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["a"]}
    )
    # Negated ForAllValues: no value is one of the listed ones.
    assert not _decide(
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["a", "b"]}
    )


def test_numeric_and_ip_operators() -> None:
    assert _decide({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 10})
    assert not _decide({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"})
    assert _decide(
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.9"}
    )
    assert not _decide(
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.9"}
    )


def test_an_operator_the_evaluator_does_not_model_is_an_error_not_an_answer() -> None:
    with pytest.raises(PolicyError):
        _decide({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {})


# -- policy variables -----------------------------------------------------------------------


def test_policy_variables_in_resources() -> None:
    """AWS: arn:aws:s3:::bucket/home/${aws:username}/* gives each user their own folder."""
    home = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/*"))
    mine = Request(
        "s3:GetObject", "arn:aws:s3:::bucket/home/alice/notes", {"aws:username": "alice"}
    )
    theirs = Request(
        "s3:GetObject", "arn:aws:s3:::bucket/home/bob/notes", {"aws:username": "alice"}
    )
    nobody = Request("s3:GetObject", "arn:aws:s3:::bucket/home/bob/notes")
    assert evaluate(mine, [home]) and not evaluate(theirs, [home]) and not evaluate(nobody, [home])


def test_a_variables_value_matches_literally_and_defaults_apply() -> None:
    tagged = policy(
        allow("dynamodb:*", "arn:aws:dynamodb:*:*:table/${aws:PrincipalTag/prefix, 'none'}*")
    )
    star = {"aws:PrincipalTag/prefix": "*"}
    assert not evaluate(Request("dynamodb:GetItem", TABLE, star), [tagged])
    assert evaluate(
        Request("dynamodb:GetItem", TABLE, {"aws:PrincipalTag/prefix": "alice-"}), [tagged]
    )
    default = Request("dynamodb:GetItem", TABLE.replace("alice-", "none-"))
    assert evaluate(default, [tagged])


def test_variables_are_literal_text_in_version_2008_policies() -> None:
    """AWS: policy variables need Version 2012-10-17; earlier versions treat them as text."""
    old = policy(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}"), version="2008-10-17")
    assert not evaluate(
        Request("s3:GetObject", "arn:aws:s3:::b/alice", {"aws:username": "alice"}), [old]
    )
    assert evaluate(Request("s3:GetObject", "arn:aws:s3:::b/${aws:username}"), [old])


def test_variables_in_condition_values() -> None:
    condition = {"StringEquals": {"aws:RequestTag/owner": "${aws:username}"}}
    assert _decide(condition, {"aws:username": "alice", "aws:RequestTag/owner": "alice"})
    assert not _decide(condition, {"aws:username": "alice", "aws:RequestTag/owner": "bob"})
    assert not _decide(condition, {"aws:RequestTag/owner": "${aws:username}"})


def test_a_malformed_statement_is_an_error() -> None:
    with pytest.raises(PolicyError):
        evaluate(Request("s3:GetObject"), [policy({"Effect": "Allow", "Resource": "*"})])
    with pytest.raises(PolicyError):
        evaluate(
            Request("s3:GetObject"), [policy({"Effect": "Permit", "Action": "*", "Resource": "*"})]
        )
