"""The least-privilege IAM policy for workshop participants on a shared AWS account.

It is generated, not written by hand: the emulator records every call the
solution notebooks make (see ``local.actions``), and this module turns that set
of actions into a policy whose every resource is under the participant's name
prefix (``PREFIX`` in the committed file, replaced per participant), and whose
conditions close the ways one participant could take over the account or
another participant's work:

* roles may be created, given policies or a boundary only with the room's
  permissions boundary (``iam:PermissionsBoundary``), and the boundary can
  neither be removed nor edited: a role can never hold more than the boundary
  allows (``permissions-boundary.json``, which keeps each role to its own
  prefix through its ``streamlab:prefix`` tag);
* ``iam:PassRole`` only of the participant's roles, and only to Lambda;
* event source mappings only for the participant's functions
  (``lambda:FunctionArn``) and never one tagged for another prefix;
* tagging, which AWS checks on create wherever the kit tags, only with the
  kit's tag keys and the participant's own prefix.

Every decision is checked with ``local.iam.evaluator`` against the real ARNs
and condition keys of every call the course makes (tests/tooling and
tests/course). ``${aws:username}`` is not used: the instructor chooses prefixes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from streamlab.aws.tags import KIT_TAG, PREFIX_TAG
from streamlab.local.iam.evaluator import Request

PREFIX_PLACEHOLDER = "PREFIX"
BOUNDARY_NAME = "streamlab-participant-boundary"
#: The room's boundary in any account of the policy (StringLike: ``*`` is the account).
BOUNDARY_PATTERN = f"arn:aws:iam::*:policy/{BOUNDARY_NAME}"
LAMBDA_SERVICE = "lambda.amazonaws.com"

# Actions AWS only authorises on "*": listing and account-level reads.
UNSCOPED_ACTIONS = frozenset(
    {
        "dynamodb:ListTables",
        "dynamodb:ListStreams",
        "lambda:ListFunctions",
        "lambda:ListEventSourceMappings",
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
TAGGING_ACTIONS = frozenset(
    {
        "dynamodb:TagResource",
        "lambda:TagResource",
        "iam:TagRole",
        "sqs:TagQueue",
        "sns:TagResource",
        "logs:TagResource",
    }
)
#: Role changes that must carry the room's boundary (the key is the role's boundary).
BOUNDARY_ACTIONS = frozenset(
    {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    }
)
#: Mapping changes, allowed only for the participant's functions (``lambda:FunctionArn``).
MAPPING_CHANGES = frozenset(
    {
        "lambda:CreateEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
    }
)
MAPPING_READS = frozenset({"lambda:GetEventSourceMapping"})
STREAM_ACTIONS = frozenset(
    {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
)

# Permissions AWS checks without a matching API call of their own.
# Creating with tags (the kit tags everything) also needs the service's tagging right;
# re-running a deploy on a role puts the boundary again (``roles.ensure_execution_role``).
IMPLIED_ACTIONS = {
    "lambda:CreateFunction": ("iam:PassRole", "lambda:TagResource"),
    "lambda:UpdateFunctionConfiguration": ("iam:PassRole",),
    "lambda:CreateEventSourceMapping": ("lambda:TagResource",),
    "dynamodb:CreateTable": ("dynamodb:TagResource",),
    "iam:CreateRole": ("iam:TagRole", "iam:PutRolePermissionsBoundary"),
    "sqs:CreateQueue": ("sqs:TagQueue",),
    "sns:CreateTopic": ("sns:TagResource",),
    "logs:CreateLogGroup": ("logs:TagResource",),
}


# What a learner's own edits call beyond one run of the solutions: running an edited
# %%lambda_function cell again takes deploy_function's update path (tested in
# tests/aws/test_functions.py), which a run of unchanged solutions never needs.
EDIT_PATH_ACTIONS = frozenset({"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"})

# The boundary's own protection: nobody but the instructor edits or removes it.
# (AWS's example of delegating role creation with a boundary does the same.)
BOUNDARY_EDITS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)


def with_implied(actions: Iterable[str]) -> set[str]:
    """The actions plus those AWS also checks (creating a function passes its role)."""
    result = set(actions)
    if "lambda:CreateFunction" in result:
        result |= EDIT_PATH_ACTIONS
    for action in list(result):
        result.update(IMPLIED_ACTIONS.get(action, ()))
    return result


def resource_patterns(action: str, prefix: str) -> list[str]:
    """The ARN patterns an action is allowed on: everything under ``prefix``."""
    service = action.split(":", 1)[0]
    p = prefix
    if action in UNSCOPED_ACTIONS or action in MAPPING_CHANGES:
        return ["*"]  # mappings: the function is in the condition, not the ARN
    if service == "dynamodb":
        if action == "dynamodb:TagResource":
            return [f"arn:aws:dynamodb:*:*:table/{p}*"]
        if action in STREAM_ACTIONS:
            return [f"arn:aws:dynamodb:*:*:table/{p}*/stream/*"]
        return [f"arn:aws:dynamodb:*:*:table/{p}*", f"arn:aws:dynamodb:*:*:table/{p}*/index/*"]
    if service == "lambda":
        if action in MAPPING_READS:
            return ["arn:aws:lambda:*:*:event-source-mapping:*"]
        functions = [f"arn:aws:lambda:*:*:function:{p}*"]
        if action == "lambda:TagResource":  # tag-on-create of a mapping tags its ARN
            functions.append("arn:aws:lambda:*:*:event-source-mapping:*")
        return functions
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
    raise ValueError(f"no resource scoping is known for {action}: add it to resource_patterns")


def _tag_condition(prefix: str) -> dict[str, Any]:
    return {
        "ForAllValues:StringEquals": {"aws:TagKeys": [KIT_TAG, PREFIX_TAG]},
        "StringEqualsIfExists": {
            f"aws:RequestTag/{PREFIX_TAG}": prefix,
            f"aws:ResourceTag/{PREFIX_TAG}": prefix,
        },
    }


def _condition(action: str, prefix: str, boundary: str) -> tuple[str, dict[str, Any] | None]:
    """The statement an action belongs in (its Sid stem) and that statement's condition."""
    if action in TAGGING_ACTIONS:
        return action.split(":", 1)[0].capitalize() + "TagsOfOwnPrefixOnly", _tag_condition(prefix)
    if action in BOUNDARY_ACTIONS:
        return "RolesOnlyWithTheBoundary", {"StringLike": {"iam:PermissionsBoundary": boundary}}
    if action == "iam:PassRole":
        return "PassOwnRolesToLambdaOnly", {"StringEquals": {"iam:PassedToService": LAMBDA_SERVICE}}
    if action in MAPPING_CHANGES:
        return "MappingsOfOwnFunctionsOnly", {
            "ArnLike": {"lambda:FunctionArn": f"arn:aws:lambda:*:*:function:{prefix}*"},
            "StringEqualsIfExists": {f"aws:ResourceTag/{PREFIX_TAG}": prefix},
        }
    if action in MAPPING_READS:
        return "ReadOwnMappings", {
            "ArnLikeIfExists": {"lambda:FunctionArn": f"arn:aws:lambda:*:*:function:{prefix}*"},
            "StringEqualsIfExists": {f"aws:ResourceTag/{PREFIX_TAG}": prefix},
        }
    if action in UNSCOPED_ACTIONS:
        return "ListAndAccountLevel", None
    if action in STREAM_ACTIONS:
        return "DynamodbStreamsUnderPrefix", None
    return action.split(":", 1)[0].capitalize() + "UnderPrefix", None


def participant_policy(
    actions: Iterable[str], prefix: str = PREFIX_PLACEHOLDER, boundary_arn: str = BOUNDARY_PATTERN
) -> dict[str, Any]:
    """A policy document allowing exactly ``actions`` (and what AWS checks with them) on
    the participant's resources, with the conditions that keep participants apart.

    ``boundary_arn`` is matched with ``StringLike``: the default fits the room's
    boundary in any account.
    """
    grouped: dict[tuple[str, str, str], set[str]] = {}
    conditions: dict[tuple[str, str, str], dict[str, Any] | None] = {}
    for action in with_implied(actions):
        sid, condition = _condition(action, prefix, boundary_arn)
        resources = resource_patterns(action, prefix)
        key = (sid, json.dumps(resources), json.dumps(condition, sort_keys=True))
        grouped.setdefault(key, set()).add(action)
        conditions[key] = condition
    statements: list[dict[str, Any]] = []
    sids: dict[str, int] = {}
    for key in sorted(grouped, key=lambda k: (k[0], sorted(grouped[k])[0])):
        sid, resources, _ = key
        sids[sid] = sids.get(sid, 0) + 1
        names = sorted(grouped[key])
        statement: dict[str, Any] = {
            "Sid": sid if sids[sid] == 1 else f"{sid}{sids[sid]}",
            "Effect": "Allow",
            "Action": names,
            "Resource": json.loads(resources),
        }
        if statement["Resource"] == ["*"]:
            statement["Resource"] = "*"
        if conditions[key]:
            statement["Condition"] = conditions[key]
        statements.append(statement)
    statements += _guard_statements(boundary_arn)
    return {"Version": "2012-10-17", "Statement": statements}


def _guard_statements(boundary: str) -> list[dict[str, Any]]:
    """Explicit denies that hold whatever else a participant is granted."""
    return [
        {
            "Sid": "DenyRolesWithoutTheBoundary",
            "Effect": "Deny",
            "Action": sorted(BOUNDARY_ACTIONS),
            "Resource": "*",
            "Condition": {"StringNotLike": {"iam:PermissionsBoundary": boundary}},
        },
        {
            "Sid": "DenyRemovingOrEditingTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", *BOUNDARY_EDITS],
            "Resource": "*",
        },
    ]


def boundary_policy() -> dict[str, Any]:
    """The room's permissions boundary: the most any lab role may do, on its own prefix.

    Shared by the whole room, so it names each role's prefix through the role's
    ``streamlab:prefix`` tag (a principal tag of the function's session); the
    participant policy lets roles be tagged only with the participant's own
    prefix. A role without the tag matches nothing here, so it can do nothing.
    Covers what ``aws.roles.execution_policy`` and the labs' extra statements grant.
    """
    p = f"${{aws:PrincipalTag/{PREFIX_TAG}}}"
    from streamlab.apps.replication import REPLICA_ACTIONS
    from streamlab.aws.roles import LIST_STREAMS_ACTION, TABLE_ACTIONS
    from streamlab.aws.roles import STREAM_ACTIONS as ROLE_STREAM_ACTIONS

    table_actions = sorted(set(TABLE_ACTIONS) | set(REPLICA_ACTIONS))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    f"arn:aws:logs:*:*:log-group:/aws/lambda/{p}*",
                    f"arn:aws:logs:*:*:log-group:/aws/lambda/{p}*:*",
                ],
            },
            {
                "Sid": "UseOwnTables",
                "Effect": "Allow",
                "Action": table_actions,
                "Resource": [
                    f"arn:aws:dynamodb:*:*:table/{p}*",
                    f"arn:aws:dynamodb:*:*:table/{p}*/index/*",
                ],
            },
            {
                "Sid": "ReadOwnStreams",
                "Effect": "Allow",
                "Action": sorted(ROLE_STREAM_ACTIONS),
                "Resource": [f"arn:aws:dynamodb:*:*:table/{p}*/stream/*"],
            },
            {
                "Sid": "ListStreams",
                "Effect": "Allow",
                "Action": [LIST_STREAMS_ACTION],
                "Resource": "*",
            },
            {
                "Sid": "SendToOwnDestinations",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage", "sns:Publish"],
                "Resource": [f"arn:aws:sqs:*:*:{p}*", f"arn:aws:sns:*:*:{p}*"],
            },
        ],
    }


def for_participant(policy: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The committed policy with ``PREFIX`` replaced, as the instructor attaches it."""
    return json.loads(json.dumps(policy).replace(PREFIX_PLACEHOLDER, prefix))


def allowed_actions(policy: dict[str, Any]) -> set[str]:
    """Every action a generated policy allows (it never uses wildcards in actions)."""
    return {
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
    }


def render(policy: dict[str, Any]) -> str:
    """Stable text for the committed file, so regeneration gives the same bytes."""
    return json.dumps(policy, indent=2, sort_keys=False) + "\n"


SAMPLE_NAME = "streamlab-check"
SAMPLE_MAPPING = "00000000-0000-4000-8000-000000000000"
SAMPLE_STREAM_LABEL = "2024-01-01T00:00:00.000"


def sample_requests(
    action: str, prefix: str, region: str, account_id: str, boundary_arn: str | None = None
) -> list[Request]:
    """Requests shaped like the course's calls of ``action`` (real ARN shapes and the
    condition keys AWS sends), for simulating a participant's permissions."""
    name = f"{prefix}{SAMPLE_NAME}"
    boundary = boundary_arn or f"arn:aws:iam::{account_id}:policy/{BOUNDARY_NAME}"
    function = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    mapping = f"arn:aws:lambda:{region}:{account_id}:event-source-mapping:{SAMPLE_MAPPING}"
    table = f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"
    role = f"arn:aws:iam::{account_id}:role/{name}-role"
    tags = {
        f"aws:RequestTag/{KIT_TAG}": "streamlab",
        f"aws:RequestTag/{PREFIX_TAG}": prefix,
        "aws:TagKeys": [KIT_TAG, PREFIX_TAG],
    }
    service = action.split(":", 1)[0]
    owned = {f"aws:ResourceTag/{KIT_TAG}": "streamlab", f"aws:ResourceTag/{PREFIX_TAG}": prefix}
    if action in UNSCOPED_ACTIONS:
        return [Request(action, "*")]
    if action == "lambda:CreateEventSourceMapping":
        return [Request(action, mapping, {"lambda:FunctionArn": function} | tags)]
    if action in MAPPING_CHANGES:
        return [Request(action, mapping, {"lambda:FunctionArn": function} | owned)]
    if action in MAPPING_READS:
        return [Request(action, mapping, owned)]
    if action == "lambda:TagResource":
        return [Request(action, function, tags), Request(action, mapping, tags)]
    if action in TAGGING_ACTIONS:
        resource = {
            "dynamodb": table,
            "iam": role,
            "logs": f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{name}",
        }.get(service, f"arn:aws:{service}:{region}:{account_id}:{name}")
        return [Request(action, resource, tags)]
    if action in BOUNDARY_ACTIONS:
        return [Request(action, role, {"iam:PermissionsBoundary": boundary})]
    if action == "iam:PassRole":
        return [Request(action, role, {"iam:PassedToService": LAMBDA_SERVICE})]
    if service == "dynamodb":
        if action in STREAM_ACTIONS:
            return [Request(action, f"{table}/stream/{SAMPLE_STREAM_LABEL}")]
        return [Request(action, table)]
    if service == "lambda":
        return [Request(action, function)]
    if service == "iam":
        return [Request(action, role)]
    if service == "logs":
        group = f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{name}"
        if action == "logs:GetLogEvents":
            return [Request(action, f"{group}:log-stream:2024/01/01/[$LATEST]0")]
        return [Request(action, group)]
    if service in ("sqs", "sns"):
        return [Request(action, f"arn:aws:{service}:{region}:{account_id}:{name}")]
    return [Request(action, "*")]


def lab_actions() -> list[str]:
    """The IAM actions the solution notebooks call (recorded; shipped with the package)."""
    return sorted(json.loads(_data("lab_actions.json"))["actions"])


def lab_requests() -> dict[str, list[dict[str, Any]]]:
    """Every distinct call the course makes, with what IAM authorises for it (resource
    ARNs and condition keys), under the prefix ``course-``: ``notebook`` (the
    participant's calls) and ``function`` (the calls of the labs' functions)."""
    return json.loads(_data("lab_requests.json"))


_VARIABLE_PARTS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), SAMPLE_MAPPING),
    (
        re.compile(r"/stream/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"),
        f"/stream/{SAMPLE_STREAM_LABEL}",
    ),
    (re.compile(r":log-stream:[^\"]*"), ":log-stream:2024/01/01/[$LATEST]0"),
)


def normalised_requests(entries: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The emulator's record of calls (``/_streamlab/actions``), by caller, with the parts
    that change from run to run (mapping UUIDs, stream labels, log streams) made fixed."""
    from streamlab.local.identities import FUNCTION, NOTEBOOK

    found: dict[str, set[str]] = {NOTEBOOK: set(), FUNCTION: set()}
    for entry in entries:
        caller = entry.get("identity")  # named by the emulator: the keys are issued per user
        if caller not in found:
            continue
        text = json.dumps(
            {"call": entry["call"], "authorisations": entry["authorisations"]}, sort_keys=True
        )
        for pattern, fixed in _VARIABLE_PARTS:
            text = pattern.sub(fixed, text)
        found[caller].add(text)
    return {caller: [json.loads(t) for t in sorted(texts)] for caller, texts in found.items()}


def _data(name: str) -> str:
    from importlib import resources

    return resources.files("streamlab").joinpath(f"tooling/data/{name}").read_text()
