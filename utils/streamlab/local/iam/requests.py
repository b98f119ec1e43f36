"""What IAM authorises for each AWS call the kit makes: actions, resource ARNs, condition keys.

A call is not one action name: ``CreateFunction`` with tags is authorised as
``lambda:CreateFunction`` on the function, ``iam:PassRole`` on the execution
role (with ``iam:PassedToService``) and ``lambda:TagResource`` on the function
(with ``aws:RequestTag/...`` and ``aws:TagKeys``). The table below says, per API
operation, which authorisations AWS makes, on which ARN, with which condition
keys, following the Service Authorization Reference:

* DynamoDB: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
* Lambda: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
  and https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html
  (mappings: ``lambda:FunctionArn``; tagging a mapping on create needs
  ``lambda:TagResource`` on its ``event-source-mapping`` ARN)
* IAM: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
  (``iam:PermissionsBoundary`` on CreateRole, PutRolePolicy, AttachRolePolicy,
  PutRolePermissionsBoundary, DeleteRolePolicy; ``iam:PassedToService`` on PassRole)
* CloudWatch Logs: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
* SQS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
  (creating a queue with tags also needs ``sqs:TagQueue``)
* Tag-on-create: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  (``aws:RequestTag/tag-key``, ``aws:TagKeys``)

Pure: it works from the call's parameters (and, for a mapping, from the
service's answer, which names the mapping's function), plus a small ``State``
for what only the account knows (a role's current permissions boundary).
An operation missing from the table is authorised as its action on ``*`` and
marked ``mapped=False``, so a test can insist that every call is described.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from .evaluator import Request

LAMBDA_SERVICE = "lambda.amazonaws.com"


class State(Protocol):
    """What the account knows that the request does not say."""

    def role_boundary(self, account: str, role_name: str) -> str | None:
        """The role's permissions boundary ARN, if it has one."""

    def mapping_tags(self, account: str, region: str, uuid: str) -> dict[str, str]:
        """An event source mapping's tags (before the call), empty if it has none."""


class NoState:
    """For calls judged without an account behind them (unit tests, recorded calls)."""

    def role_boundary(self, account: str, role_name: str) -> str | None:
        return None

    def mapping_tags(self, account: str, region: str, uuid: str) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Call:
    """One API call as the wire says it: service, operation and all its parameters."""

    service: str  # IAM prefix: dynamodb (also DynamoDB Streams), lambda, iam, logs ...
    operation: str  # API operation name, e.g. CreateFunction
    params: Mapping[str, Any]
    region: str
    account: str
    response: Mapping[str, Any] | None = None  # the service's answer, when it succeeded


@dataclass(frozen=True)
class Authorisations:
    """The requests IAM decides for one call; all must be allowed."""

    requests: tuple[Request, ...]
    mapped: bool = True


# -- ARNs ----------------------------------------------------------------------------------


def table_arn(call: Call, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:dynamodb:{call.region}:{call.account}:table/{name}"


def function_arn(call: Call, name: str, qualifier: str | None = None) -> str:
    """A function's ARN from a name, a partial ARN (``123:function:f``) or a full ARN."""
    name = unquote(name)
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:
        account, _, rest = name.partition(":function:")
        arn = f"arn:aws:lambda:{call.region}:{account}:function:{rest}"
    else:
        arn = f"arn:aws:lambda:{call.region}:{call.account}:function:{name}"
    if qualifier and arn.count(":") == 6:
        arn += f":{qualifier}"
    return arn


def mapping_arn(call: Call, uuid: str) -> str:
    return f"arn:aws:lambda:{call.region}:{call.account}:event-source-mapping:{uuid}"


def role_arn(call: Call, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:iam::{call.account}:role/{name_or_arn}"


def log_group_arn(call: Call, name: str) -> str:
    return f"arn:aws:logs:{call.region}:{call.account}:log-group:{name}"


def queue_arn(call: Call, url_or_name: str) -> str:
    name = url_or_name.rstrip("/").rsplit("/", 1)[-1]
    return f"arn:aws:sqs:{call.region}:{call.account}:{name}"


# -- tags ----------------------------------------------------------------------------------


def request_tags(params: Mapping[str, Any], key: str = "Tags") -> dict[str, str]:
    """Tags of a request in any of AWS's shapes: a map, a Key/Value list, or query members."""
    value = params.get(key)
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(t["Key"]): str(t.get("Value", "")) for t in value if "Key" in t}
    tags = {}
    index = 1
    while f"{key}.member.{index}.Key" in params:
        tags[params[f"{key}.member.{index}.Key"]] = params.get(f"{key}.member.{index}.Value", "")
        index += 1
    return tags


def tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    """``aws:RequestTag/KEY`` for each tag and ``aws:TagKeys`` (multi-valued)."""
    if not tags:
        return {}
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    context["aws:TagKeys"] = sorted(tags)
    return context


# -- the table -----------------------------------------------------------------------------

Builder = Callable[[Call, State], list[Request]]


def _on(action: str, arn: Callable[[Call], str | list[str]]) -> Builder:
    """An operation authorised as one action on the resource(s) its parameters name."""

    def build(call: Call, state: State) -> list[Request]:
        arns = arn(call)
        return [Request(action, a) for a in ([arns] if isinstance(arns, str) else arns)]

    return build


def _unscoped(action: str) -> Builder:
    """An operation without a resource type: IAM authorises it on ``*``."""
    return lambda call, state: [Request(action, "*")]


def _p(call: Call, name: str) -> str:
    return str(call.params.get(name, ""))


def _table(call: Call) -> str:
    return table_arn(call, _p(call, "TableName"))


def _table_or_index(call: Call) -> str:
    index = call.params.get("IndexName")
    return f"{_table(call)}/index/{index}" if index else _table(call)


def _create_table(call: Call, state: State) -> list[Request]:
    arn = _table(call)
    tags = tag_context(request_tags(call.params))
    requests = [Request("dynamodb:CreateTable", arn, tags)]
    if tags:
        requests.append(Request("dynamodb:TagResource", arn, tags))
    return requests


def _batch_write(call: Call, state: State) -> list[Request]:
    tables = sorted(call.params.get("RequestItems") or {})
    return [Request("dynamodb:BatchWriteItem", table_arn(call, t)) for t in tables]


# A transaction is authorised as the item action of each of its parts, on that part's table
# ("Using IAM with DynamoDB transactions" in the DynamoDB Developer Guide).
_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _transact_write(call: Call, state: State) -> list[Request]:
    requests = []
    for item in call.params.get("TransactItems") or []:
        for part, action in _TRANSACT_WRITE.items():
            if part in item:
                request = Request(action, table_arn(call, str(item[part].get("TableName", ""))))
                if request not in requests:
                    requests.append(request)
    return requests


def _transact_get(call: Call, state: State) -> list[Request]:
    tables = {
        str(i.get("Get", {}).get("TableName", "")) for i in call.params.get("TransactItems") or []
    }
    return [Request("dynamodb:GetItem", table_arn(call, t)) for t in sorted(tables)]


def _batch_get(call: Call, state: State) -> list[Request]:
    tables = sorted(call.params.get("RequestItems") or {})
    return [Request("dynamodb:BatchGetItem", table_arn(call, t)) for t in tables]


def _get_records(call: Call, state: State) -> list[Request]:
    # A shard iterator names its stream: "<stream ARN>|..." (AWS's and moto's alike).
    return [Request("dynamodb:GetRecords", _p(call, "ShardIterator").split("|", 1)[0])]


def _dynamodb_tag(call: Call, state: State) -> list[Request]:
    tags = tag_context(request_tags(call.params))
    return [Request("dynamodb:TagResource", _p(call, "ResourceArn"), tags)]


def _function(call: Call) -> str:
    return function_arn(call, _p(call, "FunctionName"), call.params.get("Qualifier"))


def _pass_role(call: Call) -> Request:
    return Request(
        "iam:PassRole", role_arn(call, _p(call, "Role")), {"iam:PassedToService": LAMBDA_SERVICE}
    )


def _create_function(call: Call, state: State) -> list[Request]:
    arn = _function(call)
    tags = tag_context(request_tags(call.params))
    requests = [Request("lambda:CreateFunction", arn, tags), _pass_role(call)]
    if tags:
        requests.append(Request("lambda:TagResource", arn, tags))
    return requests


def _update_function_configuration(call: Call, state: State) -> list[Request]:
    requests = [Request("lambda:UpdateFunctionConfiguration", _function(call))]
    if call.params.get("Role"):
        requests.append(_pass_role(call))
    return requests


def _lambda_tag(call: Call, state: State) -> list[Request]:
    tags = tag_context(request_tags(call.params))
    return [Request("lambda:TagResource", unquote(_p(call, "Resource")), tags)]


def _mapping_function(call: Call) -> dict[str, str]:
    """``lambda:FunctionArn``: the function the request names, else the mapping's (answer)."""
    name = call.params.get("FunctionName") or (call.response or {}).get("FunctionArn")
    return {"lambda:FunctionArn": function_arn(call, str(name))} if name else {}


def _create_mapping(call: Call, state: State) -> list[Request]:
    uuid = (call.response or {}).get("UUID", "*")
    arn = mapping_arn(call, uuid)
    tags = tag_context(request_tags(call.params))
    requests = [Request("lambda:CreateEventSourceMapping", arn, _mapping_function(call) | tags)]
    if tags:
        requests.append(Request("lambda:TagResource", arn, tags))
    return requests


def _resource_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


def _mapping(action: str, with_function: bool = True) -> Builder:
    """A mapping's own operations: on its ARN, with its function (``lambda:FunctionArn``,
    where AWS documents it) and its tags (``aws:ResourceTag/...``)."""

    def build(call: Call, state: State) -> list[Request]:
        uuid = _p(call, "UUID")
        context = _mapping_function(call) if with_function else {}
        context |= _resource_tags(state.mapping_tags(call.account, call.region, uuid))
        return [Request(action, mapping_arn(call, uuid), context)]

    return build


def _role(call: Call) -> str:
    return role_arn(call, _p(call, "RoleName"))


def _boundary_context(boundary: str | None) -> dict[str, str]:
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


def _create_role(call: Call, state: State) -> list[Request]:
    tags = tag_context(request_tags(call.params))
    context = _boundary_context(call.params.get("PermissionsBoundary")) | tags
    requests = [Request("iam:CreateRole", _role(call), context)]
    if tags:
        requests.append(Request("iam:TagRole", _role(call), tags))
    return requests


def _with_role_boundary(action: str) -> Builder:
    """Role actions that carry the role's current boundary as ``iam:PermissionsBoundary``."""

    def build(call: Call, state: State) -> list[Request]:
        boundary = state.role_boundary(call.account, _p(call, "RoleName"))
        context: dict[str, Any] = _boundary_context(boundary)
        if call.params.get("PolicyArn"):
            context["iam:PolicyARN"] = call.params["PolicyArn"]
        return [Request(action, _role(call), context)]

    return build


def _put_boundary(call: Call, state: State) -> list[Request]:
    context = _boundary_context(call.params.get("PermissionsBoundary"))
    return [Request("iam:PutRolePermissionsBoundary", _role(call), context)]


def _tag_role(call: Call, state: State) -> list[Request]:
    return [Request("iam:TagRole", _role(call), tag_context(request_tags(call.params)))]


def _log_group(call: Call) -> str:
    return log_group_arn(call, _p(call, "logGroupName"))


def _log_stream(call: Call) -> str:
    return f"{_log_group(call)}:log-stream:{_p(call, 'logStreamName')}"


def _queue(call: Call) -> str:
    return queue_arn(call, _p(call, "QueueUrl") or _p(call, "QueueName"))


def _create_queue(call: Call, state: State) -> list[Request]:
    tags = tag_context(request_tags(call.params, "tags"))
    requests = [Request("sqs:CreateQueue", _queue(call), tags)]
    if tags:
        requests.append(Request("sqs:TagQueue", _queue(call), tags))
    return requests


#: (IAM service prefix, API operation) -> how IAM authorises it.
OPERATIONS: dict[tuple[str, str], Builder] = {
    # DynamoDB and DynamoDB Streams (both sign as "dynamodb").
    ("dynamodb", "CreateTable"): _create_table,
    ("dynamodb", "DescribeTable"): _on("dynamodb:DescribeTable", _table),
    ("dynamodb", "UpdateTable"): _on("dynamodb:UpdateTable", _table),
    ("dynamodb", "DeleteTable"): _on("dynamodb:DeleteTable", _table),
    ("dynamodb", "GetItem"): _on("dynamodb:GetItem", _table),
    ("dynamodb", "PutItem"): _on("dynamodb:PutItem", _table),
    ("dynamodb", "UpdateItem"): _on("dynamodb:UpdateItem", _table),
    ("dynamodb", "DeleteItem"): _on("dynamodb:DeleteItem", _table),
    ("dynamodb", "Query"): _on("dynamodb:Query", _table_or_index),
    ("dynamodb", "Scan"): _on("dynamodb:Scan", _table_or_index),
    ("dynamodb", "BatchWriteItem"): _batch_write,
    ("dynamodb", "BatchGetItem"): _batch_get,
    ("dynamodb", "TransactWriteItems"): _transact_write,
    ("dynamodb", "TransactGetItems"): _transact_get,
    ("dynamodb", "ListTables"): _unscoped("dynamodb:ListTables"),
    ("dynamodb", "ListStreams"): _unscoped("dynamodb:ListStreams"),
    ("dynamodb", "DescribeStream"): _on("dynamodb:DescribeStream", lambda c: _p(c, "StreamArn")),
    ("dynamodb", "GetShardIterator"): _on(
        "dynamodb:GetShardIterator", lambda c: _p(c, "StreamArn")
    ),
    ("dynamodb", "GetRecords"): _get_records,
    ("dynamodb", "ListTagsOfResource"): _on(
        "dynamodb:ListTagsOfResource", lambda c: _p(c, "ResourceArn")
    ),
    ("dynamodb", "TagResource"): _dynamodb_tag,
    # Lambda.
    ("lambda", "CreateFunction"): _create_function,
    ("lambda", "GetFunction"): _on("lambda:GetFunction", _function),
    ("lambda", "GetFunctionConfiguration"): _on("lambda:GetFunctionConfiguration", _function),
    ("lambda", "UpdateFunctionCode"): _on("lambda:UpdateFunctionCode", _function),
    ("lambda", "UpdateFunctionConfiguration"): _update_function_configuration,
    ("lambda", "DeleteFunction"): _on("lambda:DeleteFunction", _function),
    ("lambda", "Invoke"): _on("lambda:InvokeFunction", _function),
    ("lambda", "ListFunctions"): _unscoped("lambda:ListFunctions"),
    ("lambda", "ListTags"): _on("lambda:ListTags", lambda c: unquote(_p(c, "Resource"))),
    ("lambda", "TagResource"): _lambda_tag,
    ("lambda", "CreateEventSourceMapping"): _create_mapping,
    ("lambda", "GetEventSourceMapping"): _mapping("lambda:GetEventSourceMapping", False),
    ("lambda", "UpdateEventSourceMapping"): _mapping("lambda:UpdateEventSourceMapping"),
    ("lambda", "DeleteEventSourceMapping"): _mapping("lambda:DeleteEventSourceMapping"),
    ("lambda", "ListEventSourceMappings"): _unscoped("lambda:ListEventSourceMappings"),
    ("lambda", "GetAccountSettings"): _unscoped("lambda:GetAccountSettings"),
    # IAM.
    ("iam", "CreateRole"): _create_role,
    ("iam", "GetRole"): _on("iam:GetRole", _role),
    ("iam", "DeleteRole"): _on("iam:DeleteRole", _role),
    ("iam", "UpdateAssumeRolePolicy"): _on("iam:UpdateAssumeRolePolicy", _role),
    ("iam", "PutRolePolicy"): _with_role_boundary("iam:PutRolePolicy"),
    ("iam", "DeleteRolePolicy"): _with_role_boundary("iam:DeleteRolePolicy"),
    ("iam", "AttachRolePolicy"): _with_role_boundary("iam:AttachRolePolicy"),
    ("iam", "DetachRolePolicy"): _with_role_boundary("iam:DetachRolePolicy"),
    ("iam", "PutRolePermissionsBoundary"): _put_boundary,
    ("iam", "DeleteRolePermissionsBoundary"): _with_role_boundary(
        "iam:DeleteRolePermissionsBoundary"
    ),
    ("iam", "GetRolePolicy"): _on("iam:GetRolePolicy", _role),
    ("iam", "ListRolePolicies"): _on("iam:ListRolePolicies", _role),
    ("iam", "ListAttachedRolePolicies"): _on("iam:ListAttachedRolePolicies", _role),
    ("iam", "ListInstanceProfilesForRole"): _on("iam:ListInstanceProfilesForRole", _role),
    ("iam", "ListRoleTags"): _on("iam:ListRoleTags", _role),
    ("iam", "TagRole"): _tag_role,
    ("iam", "ListRoles"): _unscoped("iam:ListRoles"),
    ("iam", "SimulatePrincipalPolicy"): _unscoped("iam:SimulatePrincipalPolicy"),
    # CloudWatch Logs.
    ("logs", "DescribeLogGroups"): _unscoped("logs:DescribeLogGroups"),
    ("logs", "FilterLogEvents"): _on("logs:FilterLogEvents", _log_group),
    ("logs", "GetLogEvents"): _on("logs:GetLogEvents", _log_stream),
    ("logs", "DeleteLogGroup"): _on("logs:DeleteLogGroup", _log_group),
    # SQS.
    ("sqs", "CreateQueue"): _create_queue,
    ("sqs", "GetQueueAttributes"): _on("sqs:GetQueueAttributes", _queue),
    ("sqs", "ReceiveMessage"): _on("sqs:ReceiveMessage", _queue),
    ("sqs", "DeleteMessage"): _on("sqs:DeleteMessage", _queue),
    ("sqs", "DeleteQueue"): _on("sqs:DeleteQueue", _queue),
    ("sqs", "ListQueueTags"): _on("sqs:ListQueueTags", _queue),
    ("sqs", "SendMessage"): _on("sqs:SendMessage", _queue),
    ("sqs", "ListQueues"): _unscoped("sqs:ListQueues"),
    # SNS and STS.
    ("sns", "ListTopics"): _unscoped("sns:ListTopics"),
    ("sns", "Publish"): _on("sns:Publish", lambda c: _p(c, "TopicArn")),
    ("sts", "GetCallerIdentity"): _unscoped("sts:GetCallerIdentity"),
}

#: Operations whose authorisation needs the service's answer (a mapping's UUID or function).
NEEDS_RESPONSE = frozenset(
    {
        ("lambda", "CreateEventSourceMapping"),
        ("lambda", "GetEventSourceMapping"),
        ("lambda", "UpdateEventSourceMapping"),
        ("lambda", "DeleteEventSourceMapping"),
    }
)


def authorisations(call: Call, iam_action: str, state: State | None = None) -> Authorisations:
    """The requests IAM decides for ``call`` (``iam_action`` names it if it is not in the table)."""
    build = OPERATIONS.get((call.service, call.operation))
    if build is None:
        return Authorisations((Request(iam_action, "*"),), mapped=False)
    return Authorisations(tuple(build(call, state or NoState())))
