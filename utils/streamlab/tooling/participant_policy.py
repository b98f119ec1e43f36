"""The least-privilege IAM policy for workshop participants on a shared AWS account.

It is generated, not written by hand: the emulator records every IAM action the
solution notebooks call (see ``local.actions``), and this module turns that set
into a policy whose resources are scoped to the participant's name prefix
wherever AWS allows it. ``${aws:username}`` is not used: prefixes are chosen by
the instructor, so the policy takes the prefix as a parameter (``PREFIX`` in the
committed file, replaced per participant).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

PREFIX_PLACEHOLDER = "PREFIX"

# Actions AWS only authorises on "*": listing, account-level reads, and mapping
# creation (its resource is the mapping, which does not exist yet).
UNSCOPED_ACTIONS = frozenset(
    {
        "dynamodb:ListTables",
        "dynamodb:ListStreams",
        "lambda:ListFunctions",
        "lambda:ListEventSourceMappings",
        "lambda:CreateEventSourceMapping",
        "lambda:GetAccountSettings",
        "logs:DescribeLogGroups",
        "iam:ListRoles",
        "iam:ListPolicies",
        "sqs:ListQueues",
        "sns:ListTopics",
        "sts:GetCallerIdentity",
        "iam:SimulatePrincipalPolicy",
    }
)


# Permissions AWS checks without a matching API call of their own.
# Creating with tags (the kit tags everything) also needs the service's tagging right.
IMPLIED_ACTIONS = {
    "lambda:CreateFunction": ("iam:PassRole", "lambda:TagResource"),
    "lambda:UpdateFunctionConfiguration": ("iam:PassRole",),
    "lambda:CreateEventSourceMapping": ("lambda:TagResource",),
    "dynamodb:CreateTable": ("dynamodb:TagResource",),
    "iam:CreateRole": ("iam:TagRole",),
    "sqs:CreateQueue": ("sqs:TagQueue",),
    "sns:CreateTopic": ("sns:TagResource",),
}


# What a learner's own edits call beyond one run of the solutions: running an edited
# %%lambda_function cell again takes deploy_function's update path (tested in
# tests/aws/test_functions.py), which a run of unchanged solutions never needs.
EDIT_PATH_ACTIONS = frozenset({"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"})


def with_implied(actions: Iterable[str]) -> set[str]:
    """The actions plus those AWS also checks (creating a function passes its role)."""
    result = set(actions)
    if "lambda:CreateFunction" in result:
        result |= EDIT_PATH_ACTIONS
    for action in list(result):
        result.update(IMPLIED_ACTIONS.get(action, ()))
    return result


def _resources(service: str, action: str, prefix: str) -> list[str]:
    p = prefix
    if service == "dynamodb":
        return [
            f"arn:aws:dynamodb:*:*:table/{p}*",
            f"arn:aws:dynamodb:*:*:table/{p}*/stream/*",
            f"arn:aws:dynamodb:*:*:table/{p}*/index/*",
        ]
    if service == "lambda":
        if "EventSourceMapping" in action:
            return ["arn:aws:lambda:*:*:event-source-mapping:*"]
        return [f"arn:aws:lambda:*:*:function:{p}*", f"arn:aws:lambda:*:*:function:{p}*:*"]
    if service == "logs":
        return [
            f"arn:aws:logs:*:*:log-group:/aws/lambda/{p}*",
            f"arn:aws:logs:*:*:log-group:/aws/lambda/{p}*:*",
        ]
    if service == "iam":
        return [f"arn:aws:iam::*:role/{p}*"]
    if service in ("sqs", "sns"):
        return [f"arn:aws:{service}:*:*:{p}*"]
    if service == "s3":
        return [f"arn:aws:s3:::{p.lower()}*", f"arn:aws:s3:::{p.lower()}*/*"]
    return ["*"]


def participant_policy(
    actions: Iterable[str], prefix: str = PREFIX_PLACEHOLDER, boundary_arn: str | None = None
) -> dict:
    """A policy document allowing exactly ``actions``, scoped to ``prefix`` where possible."""
    actions = with_implied(actions)
    unscoped = sorted({a for a in actions if a in UNSCOPED_ACTIONS})
    scoped: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for action in set(actions) - set(unscoped):
        service, name = action.split(":", 1)
        if action == "iam:PassRole":
            continue  # its own statement below, limited to Lambda
        key = tuple(_resources(service, name, prefix))
        if boundary_arn and action == "iam:CreateRole":
            key += ("boundary",)  # its condition must not spill onto other role actions
        scoped[key].add(action)
    statements: list[dict] = []
    if unscoped:
        statements.append(
            {"Sid": "ListAndAccountLevel", "Effect": "Allow", "Action": unscoped, "Resource": "*"}
        )
    for resources, names in sorted(scoped.items(), key=lambda kv: sorted(kv[1])[0]):
        service = sorted(names)[0].split(":")[0]
        sid = service.capitalize() + "UnderPrefix"
        if "event-source-mapping" in resources[0]:
            sid = "LambdaEventSourceMappings"
        elif "boundary" in resources:
            sid = "CreateRolesWithTheBoundary"
        statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(names)}
        statement["Resource"] = [r for r in resources if r != "boundary"]
        if "boundary" in resources:
            statement["Condition"] = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}}
        statements.append(statement)
    if "iam:PassRole" in set(actions):
        statements.append(
            {
                "Sid": "PassOwnRolesToLambda",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": _resources("iam", "PassRole", prefix),
                "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def allowed_actions(policy: dict) -> set[str]:
    """Every action a generated policy allows (it never uses wildcards in actions)."""
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def render(policy: dict) -> str:
    """Stable text for the committed file, so regeneration gives the same bytes."""
    return json.dumps(policy, indent=2, sort_keys=False) + "\n"


def sample_resource(action: str, prefix: str, region: str, account_id: str) -> str:
    """A concrete ARN the participant's policy should cover, for policy simulation."""
    if action in UNSCOPED_ACTIONS:
        return "*"
    service, name = action.split(":", 1)
    pattern = _resources(service, name, prefix)[0]
    if pattern == "*":
        return "*"
    concrete = pattern.replace(":*:*:", f":{region}:{account_id}:", 1)
    concrete = concrete.replace("iam::*:", f"iam::{account_id}:")
    return concrete.replace("*", "streamlab-check")


def lab_actions() -> list[str]:
    """The IAM actions the solution notebooks call (recorded; shipped with the package)."""
    from importlib import resources

    text = resources.files("streamlab").joinpath("tooling/data/lab_actions.json").read_text()
    return sorted(json.loads(text)["actions"])
