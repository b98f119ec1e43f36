"""The participant policy, evaluated as IAM does, allows the course and nothing more.

The committed policy (``lab_guide/iam/participant-policy.json``) and boundary
are judged by ``local.iam.evaluator`` against the recorded calls of the whole
course (``tooling/data/lab_requests.json``: each call's actions, real resource
ARNs and condition keys, under the prefix ``course-``), and against the ways a
participant could escalate or reach another participant's resources.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamlab.local.iam.evaluator import Request, evaluate, evaluate_all
from streamlab.local.iam.requests import Call, authorisations
from streamlab.tooling.participant_policy import (
    BOUNDARY_NAME,
    allowed_actions,
    boundary_policy,
    for_participant,
    lab_requests,
    participant_policy,
    render,
    sample_requests,
    with_implied,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY = json.loads((ROOT / "lab_guide" / "iam" / "participant-policy.json").read_text())
BOUNDARY = json.loads((ROOT / "lab_guide" / "iam" / "permissions-boundary.json").read_text())
RECORDED_PREFIX = "course-"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ROOM_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{BOUNDARY_NAME}"
ALICE = for_participant(POLICY, "alice-")
TAGS = {"streamlab:kit": "streamlab", "streamlab:prefix": "alice-"}


class Roles:
    """The account's roles and their boundaries, as ``requests.State`` asks for them."""

    def __init__(self, boundaries: dict[str, str | None]) -> None:
        self.boundaries = boundaries

    def role_boundary(self, account: str, role_name: str) -> str | None:
        return self.boundaries.get(role_name)


def call(service: str, operation: str, response: dict | None = None, **params: Any) -> Call:
    return Call(service, operation, params, REGION, ACCOUNT, response)


def decide(c: Call, policy: dict = ALICE, state: Any = None) -> Any:
    found = authorisations(c, f"{c.service}:{c.operation}", state)
    assert found.mapped
    return evaluate_all(found.requests, [policy])


def _recorded(caller: str, prefix: str = RECORDED_PREFIX) -> list[tuple[str, list[Request]]]:
    text = json.dumps(lab_requests()[caller]).replace(RECORDED_PREFIX, prefix)
    return [
        (
            e["call"],
            [Request(a["action"], a["resource"], a["context"]) for a in e["authorisations"]],
        )
        for e in json.loads(text)
    ]


# -- the course is allowed -------------------------------------------------------------------


def test_the_record_holds_the_course_calls_that_matter() -> None:
    calls = {name for name, _ in _recorded("notebook")}
    for needed in (
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "lambda:CreateFunction",
        "lambda:CreateEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
        "dynamodb:CreateTable",
        "sqs:CreateQueue",
    ):
        assert needed in calls
    actions = {r.action for _, requests in _recorded("notebook") for r in requests}
    assert {"iam:PassRole", "lambda:TagResource", "iam:TagRole"} <= actions


def test_every_recorded_call_of_the_course_is_allowed_under_its_prefix() -> None:
    policy = for_participant(POLICY, RECORDED_PREFIX)
    denied = [
        f"{name}: {decision.reason}"
        for name, requests in _recorded("notebook")
        if not (decision := evaluate_all(requests, [policy]))
    ]
    assert not denied, "\n".join(denied)


def test_every_call_on_another_participants_resources_is_denied() -> None:
    """The same course, replayed by bob- against alice-'s policy: only listing remains.

    (A mapping's ARN names no owner: a read of a mapping already deleted, which has
    neither tags nor function any more, is nobody's resource and is left out.)"""
    for name, requests in _recorded("notebook", prefix="bob-"):
        decision = evaluate_all(requests, [ALICE])
        scoped = any(r.resource != "*" and not _ownerless_mapping(r) for r in requests)
        assert decision.allowed != scoped, f"{name} on bob-'s resources: {decision.reason}"


def _ownerless_mapping(request: Request) -> bool:
    return ":event-source-mapping:" in request.resource and not request.context


def test_the_boundary_lets_the_functions_do_their_work_on_their_own_prefix_only() -> None:
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    tag = {"aws:PrincipalTag/streamlab:prefix": RECORDED_PREFIX}
    recorded = _recorded("function")
    assert recorded
    for prefix, allowed in ((RECORDED_PREFIX, True), ("bob-", False)):
        for name, requests in _recorded("function", prefix=prefix):
            tagged = [Request(r.action, r.resource, {**r.context, **tag}) for r in requests]
            decision = evaluate_all(tagged, [everything], boundary=BOUNDARY)
            if any(r.resource != "*" for r in requests):
                assert decision.allowed == allowed, f"{name} ({prefix}): {decision.reason}"


# -- roles and the boundary ------------------------------------------------------------------


def test_a_role_only_with_the_rooms_boundary() -> None:
    role = dict(RoleName="alice-f-role", AssumeRolePolicyDocument="{}", Tags=_tag_list())
    assert decide(call("iam", "CreateRole", PermissionsBoundary=ROOM_BOUNDARY, **role))
    no_boundary = decide(call("iam", "CreateRole", **role))
    assert not no_boundary and no_boundary.explicit_deny
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert not decide(call("iam", "CreateRole", PermissionsBoundary=admin, **role))
    lookalike = f"arn:aws:iam::{ACCOUNT}:policy/{BOUNDARY_NAME}-wide"
    assert not decide(call("iam", "CreateRole", PermissionsBoundary=lookalike, **role))
    bobs = dict(role, RoleName="bob-f-role")
    assert not decide(call("iam", "CreateRole", PermissionsBoundary=ROOM_BOUNDARY, **bobs))


def test_an_admin_inline_policy_only_on_a_bounded_role_where_the_boundary_caps_it() -> None:
    admin = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )
    put = dict(RoleName="alice-f-role", PolicyName="x", PolicyDocument=admin)
    bounded = Roles({"alice-f-role": ROOM_BOUNDARY})
    unbounded = Roles({"alice-f-role": None})
    assert decide(call("iam", "PutRolePolicy", **put), state=bounded)
    assert not decide(call("iam", "PutRolePolicy", **put), state=unbounded)
    attach = dict(RoleName="alice-f-role", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert not decide(call("iam", "AttachRolePolicy", **attach), state=bounded)
    # What that role can then do: at most the boundary, on its own prefix only.
    role = {"aws:PrincipalTag/streamlab:prefix": "alice-"}
    own = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alice-scores"
    assert evaluate(Request("dynamodb:PutItem", own, role), [json.loads(admin)], boundary=BOUNDARY)
    for action, resource in (
        ("dynamodb:PutItem", own.replace("alice-", "bob-")),
        ("dynamodb:DeleteTable", own),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/evil"),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/alice-f-role"),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bob-f"),
    ):
        assert not evaluate(Request(action, resource, role), [json.loads(admin)], boundary=BOUNDARY)
    # A role without the kit's prefix tag can do nothing at all.
    assert not evaluate(Request("dynamodb:PutItem", own), [json.loads(admin)], boundary=BOUNDARY)


def test_the_boundary_cannot_be_removed_replaced_or_edited() -> None:
    bounded = Roles({"alice-f-role": ROOM_BOUNDARY})
    removed = decide(
        call("iam", "DeleteRolePermissionsBoundary", RoleName="alice-f-role"), state=bounded
    )
    assert not removed and removed.explicit_deny
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    put = dict(RoleName="alice-f-role", PermissionsBoundary=admin)
    assert not decide(call("iam", "PutRolePermissionsBoundary", **put), state=bounded)
    same = dict(RoleName="alice-f-role", PermissionsBoundary=ROOM_BOUNDARY)
    assert decide(call("iam", "PutRolePermissionsBoundary", **same), state=bounded)
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        assert not evaluate(Request(action, ROOM_BOUNDARY), [ALICE])


def test_pass_role_only_of_own_roles_and_only_to_lambda() -> None:
    own = f"arn:aws:iam::{ACCOUNT}:role/alice-f-role"
    function = dict(FunctionName="alice-f", Runtime="python3.12", Handler="h.h", Tags=TAGS)
    assert decide(call("lambda", "CreateFunction", Role=own, **function))
    bobs = decide(call("lambda", "CreateFunction", Role=own.replace("alice-", "bob-"), **function))
    assert not bobs and "iam:PassRole" in bobs.reason
    to_ec2 = Request("iam:PassRole", own, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not evaluate(to_ec2, [ALICE])
    assert not evaluate(Request("iam:PassRole", own), [ALICE])  # no service named


# -- mappings --------------------------------------------------------------------------------


MAPPING = "1a2b3c4d-0000-4000-8000-000000000001"


def test_mappings_only_for_own_functions() -> None:
    stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alice-t/stream/2024-01-01T00:00:00.000"
    create = dict(EventSourceArn=stream, StartingPosition="TRIM_HORIZON", Tags=TAGS)
    answer = {"UUID": MAPPING}
    assert decide(
        call("lambda", "CreateEventSourceMapping", answer, FunctionName="alice-f", **create)
    )
    assert not decide(
        call("lambda", "CreateEventSourceMapping", answer, FunctionName="bob-f", **create)
    )
    for operation in ("UpdateEventSourceMapping", "DeleteEventSourceMapping"):
        bobs = {"FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bob-f"}
        assert not decide(call("lambda", operation, bobs, UUID=MAPPING)), operation
        mine = {"FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:alice-f"}
        assert decide(call("lambda", operation, mine, UUID=MAPPING)), operation


def test_another_participants_mapping_cannot_be_pointed_at_own_function() -> None:
    """Update names the new function; the mapping's tag still says whose it is."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{MAPPING}"
    context = {
        "lambda:FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:alice-f",
        "aws:ResourceTag/streamlab:prefix": "bob-",
    }
    assert not evaluate(Request("lambda:UpdateEventSourceMapping", arn, context), [ALICE])
    assert not evaluate(
        Request("lambda:TagResource", arn, {"aws:ResourceTag/streamlab:prefix": "bob-"}), [ALICE]
    )


def test_tag_on_create_of_a_mapping_needs_tag_resource_on_the_mapping_arn() -> None:
    stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alice-t/stream/x"
    found = authorisations(
        call(
            "lambda",
            "CreateEventSourceMapping",
            {"UUID": MAPPING},
            FunctionName="alice-f",
            EventSourceArn=stream,
            Tags=TAGS,
        ),
        "lambda:CreateEventSourceMapping",
    )
    tag = [r for r in found.requests if r.action == "lambda:TagResource"]
    assert [r.resource for r in tag] == [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{MAPPING}"
    ]
    assert evaluate_all(found.requests, [ALICE])


# -- tags ------------------------------------------------------------------------------------


def _tag_list(tags: dict[str, str] = TAGS) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def test_tags_only_the_kits_keys_with_own_prefix() -> None:
    table = dict(TableName="alice-t", KeySchema=[], AttributeDefinitions=[])
    assert decide(call("dynamodb", "CreateTable", Tags=_tag_list(), **table))
    posing = _tag_list({"streamlab:kit": "streamlab", "streamlab:prefix": "bob-"})
    assert not decide(call("dynamodb", "CreateTable", Tags=posing, **table))
    extra = _tag_list({**TAGS, "owner": "someone"})
    assert not decide(call("dynamodb", "CreateTable", Tags=extra, **table))
    queue = call("sqs", "CreateQueue", QueueName="alice-q", tags={"streamlab:prefix": "bob-"})
    assert not decide(queue)


# -- the generator ---------------------------------------------------------------------------


def test_the_committed_files_are_what_the_generator_makes() -> None:
    from streamlab.tooling.participant_policy import lab_actions

    assert render(participant_policy(lab_actions())) == render(POLICY)
    assert render(boundary_policy()) == render(BOUNDARY)


def test_every_resource_is_under_the_prefix_or_has_no_resource_type() -> None:
    for statement in POLICY["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            scoped = "PREFIX" in resource or "event-source-mapping" in resource
            assert (
                scoped or "Condition" in statement or statement["Sid"] == "ListAndAccountLevel"
            ), statement["Sid"]


def test_allows_exactly_the_recorded_actions_and_what_aws_also_checks() -> None:
    recorded = {
        "lambda:CreateFunction",
        "iam:CreateRole",
        "dynamodb:CreateTable",
        "sts:GetCallerIdentity",
    }
    implied = {
        "iam:PassRole",
        "iam:TagRole",
        "iam:PutRolePermissionsBoundary",
        "lambda:TagResource",
        "dynamodb:TagResource",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
    }
    assert allowed_actions(participant_policy(recorded)) == recorded | implied
    assert with_implied(recorded) - recorded == implied
    assert "iam:DeleteRolePermissionsBoundary" not in allowed_actions(POLICY)


def test_rendering_is_stable() -> None:
    actions = {"dynamodb:GetItem", "lambda:InvokeFunction", "iam:CreateRole"}
    assert render(participant_policy(actions)) == render(participant_policy(sorted(actions)))


@pytest.mark.parametrize("action", sorted(allowed_actions(POLICY)))
def test_doctors_sample_requests_are_allowed_for_the_prefix(action: str) -> None:
    """doctor simulates these: they must be allowed, in the real ARN shape of each action."""
    requests = sample_requests(action, "alice-", REGION, ACCOUNT)
    assert evaluate_all(requests, [ALICE]), action
    assert not evaluate_all(sample_requests(action, "bob-", REGION, ACCOUNT), [ALICE]) or all(
        r.resource == "*" for r in requests
    )


def test_the_policy_fits_iams_size_limit_for_a_managed_policy_even_with_a_long_prefix() -> None:
    """IAM counts a managed policy's characters without whitespace: at most 6,144."""
    text = json.dumps(for_participant(POLICY, "participant-042-"), separators=(",", ":"))
    assert len(text) <= 6144
    assert len(json.dumps(BOUNDARY, separators=(",", ":"))) <= 6144
