"""Execution roles for lab functions: least privilege, built from what the function touches.

A learner's function gets exactly the permissions it needs: writing its own log
group, the item operations on the tables it names, reading the streams it is
triggered by, sending to its on-failure queue or topic. Nothing uses ``*`` where
AWS accepts a resource ARN, so a lab on a shared account cannot reach another
participant's tables. The documents are plain IAM JSON, the same on both
backends, so the learner can read them and copy them into their own templates.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import botocore.exceptions

from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tags
from streamlab.errors import ConfigError, LabError

POLICY_VERSION = "2012-10-17"
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
EXECUTION_POLICY_NAME = "streamlab-execution"
BOUNDARY_VARIABLE = "LAB_PERMISSIONS_BOUNDARY"
#: The boundary's name in lab_guide/instructor.md (the instructor may choose another).
ROOM_BOUNDARY_NAME = "streamlab-participant-boundary"
_DENIED = ("AccessDenied", "AccessDeniedException")
MAX_ROLE_NAME = 64

#: Item-level access to a table the function reads and writes (and its indexes).
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
#: What Lambda's poller needs on a stream (AWSLambdaDynamoDBExecutionRole, scoped).
STREAM_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
)
#: ListStreams has no resource type in IAM: AWS only accepts ``*`` for it.
LIST_STREAMS_ACTION = "dynamodb:ListStreams"
_BOUNDARY_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")


def lab_tags(lab: Lab) -> dict[str, str]:
    """Tags on everything the kit creates, so a cleanup can find it by prefix.

    (IAM and Lambda allow only letters, digits, spaces and ``_.:/=+-@`` in a
    value, and an empty value, which is what no prefix gives.)
    """
    return prefix_tags(lab.prefix)


def trust_policy() -> dict[str, Any]:
    """Who may assume an execution role: the Lambda service and nobody else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": LAMBDA_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def log_group_arn(lab: Lab, function_name: str) -> str:
    return f"arn:aws:logs:{lab.region}:{lab.account_id}:log-group:/aws/lambda/{function_name}"


def table_arn(lab: Lab, table_name: str) -> str:
    return f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table/{table_name}"


def queue_arn(lab: Lab, queue_name: str) -> str:
    return f"arn:aws:sqs:{lab.region}:{lab.account_id}:{queue_name}"


def topic_arn(lab: Lab, topic_name: str) -> str:
    return f"arn:aws:sns:{lab.region}:{lab.account_id}:{topic_name}"


def execution_policy(
    lab: Lab,
    function_name: str,
    *,
    tables: Sequence[str] = (),
    streams: Sequence[str] = (),
    queues: Sequence[str] = (),
    topics: Sequence[str] = (),
    statements: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The inline policy for one function; every name is a full (prefixed) resource name.

    ``streams`` names tables whose stream triggers the function; ``queues`` and
    ``topics`` are on-failure destinations it sends to; ``statements`` are added
    verbatim for anything else.
    """
    group = log_group_arn(lab, function_name)
    policy: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [group, f"{group}:*"],
        }
    ]
    if tables:
        arns = [table_arn(lab, t) for t in _unique(tables)]
        policy.append(
            {
                "Sid": "UseTables",
                "Effect": "Allow",
                "Action": list(TABLE_ACTIONS),
                "Resource": arns + [f"{arn}/index/*" for arn in arns],
            }
        )
    if streams:
        policy.append(
            {
                "Sid": "ReadStreams",
                "Effect": "Allow",
                "Action": list(STREAM_ACTIONS),
                "Resource": [f"{table_arn(lab, t)}/stream/*" for t in _unique(streams)],
            }
        )
        policy.append(
            {
                "Sid": "ListStreams",
                "Effect": "Allow",
                "Action": LIST_STREAMS_ACTION,
                "Resource": "*",
            }
        )
    if queues:
        policy.append(
            {
                "Sid": "SendToQueues",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": [queue_arn(lab, q) for q in _unique(queues)],
            }
        )
    if topics:
        policy.append(
            {
                "Sid": "PublishToTopics",
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": [topic_arn(lab, t) for t in _unique(topics)],
            }
        )
    policy.extend(dict(s) for s in statements)
    return {"Version": POLICY_VERSION, "Statement": policy}


def permissions_boundary(environ: Mapping[str, str] | None = None) -> str | None:
    """The boundary policy ARN a shared account requires on new roles, if any.

    Workshop accounts often allow participants to create roles only with a
    permissions boundary attached; the instructor sets it once for everyone.
    """
    env = os.environ if environ is None else environ
    value = env.get(BOUNDARY_VARIABLE, "").strip()
    if not value:
        return None
    if not _BOUNDARY_ARN.match(value):
        raise ConfigError(
            f"{BOUNDARY_VARIABLE}={value!r} is not an IAM policy ARN: use one like "
            "arn:aws:iam::123456789012:policy/LabBoundary, or unset it."
        )
    return value


def role_name_for(function_name: str) -> str:
    """The execution role's name: the (prefixed) function name plus ``-role``."""
    name = f"{function_name}-role"
    if len(name) > MAX_ROLE_NAME:
        raise LabError(
            f"The role name {name!r} is longer than IAM's {MAX_ROLE_NAME} characters: "
            "use a shorter function name or prefix."
        )
    return name


def ensure_execution_role(
    lab: Lab,
    function_name: str,
    policy: Mapping[str, Any],
    *,
    boundary: str | None = None,
) -> tuple[str, str]:
    """Create or update the function's role; returns its ARN and ``created``, ``updated`` or
    ``unchanged`` (for the permissions).

    Idempotent, so running a deploy cell again converges the role to the
    policy in that cell (a permission removed from the cell is removed from
    the role).
    """
    try:
        return _ensure_execution_role(lab, function_name, policy, boundary)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _DENIED:
            raise _boundary_error(lab, role_name_for(function_name), boundary) from None
        raise


def _boundary_error(lab: Lab, role_name: str, boundary: str | None) -> LabError:
    """IAM refused a role change: on a workshop account that means the boundary is missing
    (the participant policy allows roles only with the room's boundary) or is not the room's."""
    if boundary is None:
        try:
            account = lab.account_id
        except Exception:  # the hint still helps without the account number
            account = "ACCOUNT"
        return LabError(
            f"IAM denied creating or changing the role {role_name}: this account allows lab roles "
            f"only with the room's permissions boundary; set {BOUNDARY_VARIABLE}="
            f"arn:aws:iam::{account}:policy/{ROOM_BOUNDARY_NAME} (or the ARN your instructor "
            f"gives; in a notebook: %env {BOUNDARY_VARIABLE}=...) and run the cell again."
        )
    return LabError(
        f"IAM denied creating or changing the role {role_name} with the boundary {boundary}: "
        f"check that {BOUNDARY_VARIABLE} is the room's boundary and that your participant "
        f"policy is attached for your prefix {lab.prefix!r} (ask your instructor)."
    )


def _ensure_execution_role(
    lab: Lab, function_name: str, policy: Mapping[str, Any], boundary: str | None
) -> tuple[str, str]:
    iam = lab.iam
    name = role_name_for(function_name)
    trust = json.dumps(trust_policy())
    status = "unchanged"
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": trust,
            "Description": f"Execution role of the lab function {function_name}",
            "Tags": [{"Key": k, "Value": v} for k, v in lab_tags(lab).items()],
        }
        if boundary:
            kwargs["PermissionsBoundary"] = boundary
        role = iam.create_role(**kwargs)["Role"]
        status = "created"
    else:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        if boundary:
            iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
        if _inline_policy(lab, name) != policy:
            status = "updated"
    iam.put_role_policy(
        RoleName=name, PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=json.dumps(policy)
    )
    return role["Arn"], status


def _inline_policy(lab: Lab, role_name: str) -> Any:
    """The role's current execution policy as a dict (None when it has none)."""
    try:
        document = lab.iam.get_role_policy(RoleName=role_name, PolicyName=EXECUTION_POLICY_NAME)[
            "PolicyDocument"
        ]
    except lab.iam.exceptions.NoSuchEntityException:
        return None
    return json.loads(document) if isinstance(document, str) else document


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _grants(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    """Does one Allow statement name ``action`` (or a wildcard of it) on ``resource``?"""
    actions = _listed(statement.get("Action"))
    resources = _listed(statement.get("Resource"))
    return (
        statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in actions)
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources)
    )


def may_read_stream(lab: Lab, function_name: str, stream_arn: str) -> bool | None:
    """Whether the function's role allows ``dynamodb:GetRecords`` on the stream, as far as its
    inline policies tell; None when that cannot be told (no function, managed policies
    attached, IAM not readable). Lambda refuses a stream mapping for a role that may not."""
    try:
        role_arn = lab.lambda_.get_function_configuration(FunctionName=function_name)["Role"]
        name = role_arn.rsplit("/", 1)[-1]
        if lab.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            return None
        documents = [
            lab.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in lab.iam.list_role_policies(RoleName=name)["PolicyNames"]
        ]
    except Exception:  # a check's aside: never the reason a check fails
        return None
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if _grants(statement, "dynamodb:GetRecords", stream_arn):
                return True
    return False


def delete_execution_role(lab: Lab, function_name: str) -> bool:
    """Delete the role and its inline policies; False when there was none."""
    iam = lab.iam
    name = role_name_for(function_name)
    try:
        names = iam.list_role_policies(RoleName=name)["PolicyNames"]
    except iam.exceptions.NoSuchEntityException:
        return False
    for policy_name in names:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)
    return True


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
