"""The emulator names every call in IAM's vocabulary, by access key and identity."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from streamlab.aws.session import Lab
from streamlab.local.actions import ACTIONS_PATH, read_action_log, read_actions
from streamlab.local.identities import FUNCTION, NOTEBOOK, issued


def test_json_query_and_rest_calls_are_recorded_as_iam_actions(lab: Lab, emulator: str) -> None:
    read_actions(emulator, clear=True)
    lab.dynamodb.list_tables()  # JSON protocol (X-Amz-Target)
    lab.dynamodbstreams.list_streams()  # signed as dynamodb
    lab.iam.list_roles()  # query protocol (Action=...)
    lab.lambda_.list_functions()  # REST, matched against botocore's model
    lab.lambda_.list_event_source_mappings()
    try:
        lab.lambda_.get_function(FunctionName="does-not-exist")
    except lab.lambda_.exceptions.ResourceNotFoundException:
        pass
    lab.sts.get_caller_identity()
    # Only this test's own calls: other tests' functions may still be running in the background.
    recorded = {e["action"]: e for e in read_actions(emulator) if e["identity"] == NOTEBOOK}
    assert set(recorded) == {
        "dynamodb:ListTables",
        "dynamodb:ListStreams",
        "iam:ListRoles",
        "lambda:ListFunctions",
        "lambda:ListEventSourceMappings",
        "lambda:GetFunction",
        "sts:GetCallerIdentity",
    }
    assert {e["access_key"] for e in recorded.values()} == {issued().notebook.access_key}


def test_lambda_invoke_is_named_invoke_function_in_iam() -> None:
    from streamlab.local.actions import Action, _rest_operation

    operation = _rest_operation("lambda", "POST", "/2015-03-31/functions/f/invocations", "")
    assert operation == "Invoke"
    assert Action("lambda", operation, "k", "us-east-1").iam_action == "lambda:InvokeFunction"


def test_s3_put_is_put_object_unless_it_names_a_copy_source() -> None:
    from streamlab.local.actions import _rest_operation

    assert _rest_operation("s3", "PUT", "/bucket/key.json", "") == "PutObject"
    copy = frozenset({"x-amz-copy-source"})
    assert _rest_operation("s3", "PUT", "/bucket/key.json", "", copy) == "CopyObject"


def test_a_functions_own_calls_are_recorded_under_its_own_key(lab: Lab, emulator: str) -> None:
    from lambda_helpers import deploy, invoke

    name = deploy(
        lab,
        "import boto3\n\ndef handler(event, context):\n"
        "    return len(boto3.client('dynamodb').list_tables()['TableNames'])\n",
    )
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    read_actions(emulator, clear=True)
    assert invoke(lab, name)["StatusCode"] == 200
    by_identity = {(entry["action"], entry["identity"]) for entry in read_actions(emulator)}
    assert ("lambda:InvokeFunction", NOTEBOOK) in by_identity
    assert ("dynamodb:ListTables", FUNCTION) in by_identity
    assert ("dynamodb:ListTables", NOTEBOOK) not in by_identity


def test_the_action_log_is_refused_without_a_signature(lab: Lab, emulator: str) -> None:
    lab.dynamodb.list_tables()
    for method in ("GET", "DELETE"):
        request = urllib.request.Request(emulator + ACTIONS_PATH, method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
    assert read_actions(emulator)  # the unsigned DELETE cleared nothing


def _requests(endpoint: str, call: str) -> list[dict]:
    entries = read_action_log(endpoint)["requests"]
    return [e for e in entries if e["call"] == call and e["identity"] == NOTEBOOK]


def test_each_call_is_recorded_with_its_resource_arns_and_condition_keys(
    lab: Lab, emulator: str
) -> None:
    """Comparing action names is not enough: the record says on what, and under which keys."""
    from mapping_helpers import function, stream_table, unique

    from streamlab.aws.mappings import connect_stream
    from streamlab.aws.roles import ensure_execution_role, execution_policy

    read_actions(emulator, clear=True)
    boundary = lab.iam.create_policy(
        PolicyName=unique(lab, "boundary"), PolicyDocument=json.dumps(execution_policy(lab, "x"))
    )["Policy"]["Arn"]
    name, table = unique(lab, "recorded"), unique(lab, "recorded-table")
    stream_table(lab, table)
    policy = execution_policy(lab, name, streams=[table])
    role_arn, _ = ensure_execution_role(lab, name, policy, boundary=boundary)
    (created,) = _requests(emulator, "iam:CreateRole")
    create_role, tag_role = created["authorisations"]
    assert create_role["resource"] == role_arn
    assert create_role["context"]["iam:PermissionsBoundary"] == boundary
    assert tag_role["action"] == "iam:TagRole"
    assert set(tag_role["context"]["aws:TagKeys"]) == {"streamlab:kit", "streamlab:prefix"}
    (put,) = _requests(emulator, "iam:PutRolePolicy")
    assert put["authorisations"][0]["context"] == {"iam:PermissionsBoundary": boundary}

    function(lab, name, role_arn)
    target = name
    mapping = connect_stream(lab, table, target)
    (create,) = _requests(emulator, "lambda:CreateEventSourceMapping")
    arn = f"arn:aws:lambda:{lab.region}:{lab.account_id}:event-source-mapping:{mapping['UUID']}"
    function_arn = f"arn:aws:lambda:{lab.region}:{lab.account_id}:function:{target}"
    by_action = {a["action"]: a for a in create["authorisations"]}
    assert by_action["lambda:CreateEventSourceMapping"]["resource"] == arn
    assert by_action["lambda:CreateEventSourceMapping"]["context"]["lambda:FunctionArn"] == (
        function_arn
    )
    assert by_action["lambda:TagResource"]["resource"] == arn
    lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
    (deleted,) = _requests(emulator, "lambda:DeleteEventSourceMapping")
    assert deleted["authorisations"] == [
        {
            "action": "lambda:DeleteEventSourceMapping",
            "resource": arn,
            "context": {
                "lambda:FunctionArn": function_arn,
                "aws:ResourceTag/streamlab:kit": "streamlab",
                "aws:ResourceTag/streamlab:prefix": lab.prefix,
            },
        }
    ]
    (passed,) = _requests(emulator, "lambda:CreateFunction")
    pass_role = [a for a in passed["authorisations"] if a["action"] == "iam:PassRole"]
    assert pass_role[0]["context"] == {"iam:PassedToService": "lambda.amazonaws.com"}
    assert all(e["mapped"] for e in _requests(emulator, "dynamodb:CreateTable"))
