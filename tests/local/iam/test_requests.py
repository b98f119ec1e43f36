"""What IAM authorises for each call: the table of operations, ARNs and condition keys."""

from __future__ import annotations

from streamlab.local.iam.requests import Call, authorisations, function_arn, request_tags

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def call(service: str, operation: str, response: dict | None = None, **params) -> Call:
    return Call(service, operation, params, REGION, ACCOUNT, response)


def only(c: Call) -> tuple[str, str, dict]:
    (request,) = authorisations(c, f"{c.service}:{c.operation}").requests
    return request.action, request.resource, dict(request.context)


def test_function_names_partial_and_full_arns_and_qualifiers() -> None:
    full = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    c = call("lambda", "Invoke")
    assert function_arn(c, "f") == full
    assert function_arn(c, f"{ACCOUNT}:function:f") == full
    assert function_arn(c, full) == full
    assert function_arn(c, "f", "live") == full + ":live"
    assert only(call("lambda", "Invoke", FunctionName="f"))[:2] == ("lambda:InvokeFunction", full)


def test_stream_reads_are_authorised_on_the_stream() -> None:
    stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/2024-01-01T00:00:00.000"
    assert only(call("dynamodb", "GetRecords", ShardIterator=f"{stream}|1|abc"))[1] == stream
    assert only(call("dynamodb", "DescribeStream", StreamArn=stream))[1] == stream


def test_queries_on_an_index_are_authorised_on_the_index() -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"
    assert only(call("dynamodb", "Query", TableName="t"))[1] == table
    assert only(call("dynamodb", "Query", TableName="t", IndexName="i"))[1] == table + "/index/i"


def test_batch_writes_are_authorised_on_each_table() -> None:
    found = authorisations(call("dynamodb", "BatchWriteItem", RequestItems={"a": [], "b": []}), "")
    assert [r.resource.rsplit("/", 1)[1] for r in found.requests] == ["a", "b"]


def test_tags_in_each_of_awss_shapes() -> None:
    assert request_tags({"Tags": {"k": "v"}}) == {"k": "v"}
    assert request_tags({"Tags": [{"Key": "k", "Value": "v"}]}) == {"k": "v"}
    query = {"Tags.member.1.Key": "k", "Tags.member.1.Value": "v", "Tags.member.2.Key": "e"}
    assert request_tags(query) == {"k": "v", "e": ""}


def test_a_role_created_with_tags_and_a_boundary() -> None:
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/b"
    params = {"RoleName": "r", "PermissionsBoundary": boundary, "Tags.member.1.Key": "k"}
    found = authorisations(Call("iam", "CreateRole", params, REGION, ACCOUNT), "iam:CreateRole")
    create, tag = found.requests
    assert create.resource == f"arn:aws:iam::{ACCOUNT}:role/r"
    assert create.context["iam:PermissionsBoundary"] == boundary
    assert tag.action == "iam:TagRole" and tag.context["aws:TagKeys"] == ["k"]


def test_a_queue_url_names_the_queue() -> None:
    url = f"http://127.0.0.1:4599/{ACCOUNT}/q"
    assert only(call("sqs", "ReceiveMessage", QueueUrl=url))[1] == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    )


def test_an_operation_missing_from_the_table_is_marked_unmapped() -> None:
    found = authorisations(call("ec2", "RunInstances"), "ec2:RunInstances")
    assert not found.mapped and found.requests[0].resource == "*"


def test_a_transaction_is_authorised_as_each_of_its_item_actions() -> None:
    items = [
        {"Put": {"TableName": "a"}},
        {"Update": {"TableName": "b"}},
        {"ConditionCheck": {"TableName": "a"}},
        {"Put": {"TableName": "a"}},
    ]
    found = authorisations(call("dynamodb", "TransactWriteItems", TransactItems=items), "")
    assert [(r.action, r.resource.rsplit("/", 1)[1]) for r in found.requests] == [
        ("dynamodb:PutItem", "a"),
        ("dynamodb:UpdateItem", "b"),
        ("dynamodb:ConditionCheckItem", "a"),
    ]
