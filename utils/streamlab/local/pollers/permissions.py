"""The execution role check AWS makes when a stream mapping is created or updated.

AWS refuses a mapping whose function's role cannot read the stream (the four
actions of the managed policy ``AWSLambdaDynamoDBExecutionRole``) or cannot
send to the on-failure destination. Learners meet these messages on AWS, so
the local backend gives the same ones, evaluated with moto's IAM policy engine.
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

from .. import profiles

STREAM_ACTIONS = (
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:DescribeStream",
    "dynamodb:ListStreams",
)
STREAM_ACCESS_MESSAGE = (
    "Cannot access stream {arn}. Please ensure the role can perform the GetRecords, "
    "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
)
DESTINATION_ACTIONS = {"sqs": ("sqs:SendMessage", "SendMessage"), "sns": ("sns:Publish", "Publish")}


def _role_policies(account_id: str, role_arn: str) -> list[IAMPolicy] | None:
    """The role's inline and attached policies, or None when the role does not exist."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["global"]
    try:
        role = backend.get_role_by_arn(role_arn)
    except Exception:
        return None
    seen = profiles.role_policy_documents(role)  # the aws profile: policies propagate late
    if seen is not None:
        return [IAMPolicy(document) for document in seen]
    policies: list[Any] = [IAMPolicy(document) for document in role.policies.values()]
    policies += [IAMPolicy(policy) for policy in role.managed_policies.values()]
    return policies


def _allowed(policies: list[IAMPolicy], action: str, resource: str) -> bool:
    allowed = False
    for policy in policies:
        result = policy.is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return False
        if result == PermissionResult.PERMITTED:
            allowed = True
    return allowed


def role_problem(
    *, account_id: str, role_arn: str, stream_arn: str, destination_arn: str | None
) -> str | None:
    """AWS's message for what the role is missing, or None when it may do everything.

    Call with moto's lock held: it reads moto's IAM backend.
    """
    policies = _role_policies(account_id, role_arn)
    if policies is None or not all(
        _allowed(policies, action, stream_arn) for action in STREAM_ACTIONS
    ):
        return STREAM_ACCESS_MESSAGE.format(arn=stream_arn)
    if destination_arn:
        service = destination_arn.split(":")[2]
        action, verb = DESTINATION_ACTIONS.get(service, ("", ""))
        if action and not _allowed(policies, action, destination_arn):
            return (
                f"The function execution role does not have permissions to call {verb} on "
                f"{destination_arn}"
            )
    return None
