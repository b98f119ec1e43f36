"""The emulator names every call in IAM's vocabulary, by access key."""

from __future__ import annotations

import json
import urllib.request

from streamlab.aws.session import Lab
from streamlab.local.app import ACTIONS_PATH


def _actions(endpoint: str, method: str = "GET") -> list[dict]:
    request = urllib.request.Request(endpoint + ACTIONS_PATH, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["actions"]


def test_json_query_and_rest_calls_are_recorded_as_iam_actions(lab: Lab, emulator: str) -> None:
    _actions(emulator, "DELETE")
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
    recorded = {e["action"]: e for e in _actions(emulator) if e["access_key"] == "testing"}
    assert set(recorded) == {
        "dynamodb:ListTables",
        "dynamodb:ListStreams",
        "iam:ListRoles",
        "lambda:ListFunctions",
        "lambda:ListEventSourceMappings",
        "lambda:GetFunction",
        "sts:GetCallerIdentity",
    }


def test_lambda_invoke_is_named_invoke_function_in_iam() -> None:
    from streamlab.local.actions import Action, _rest_operation

    operation = _rest_operation("lambda", "POST", "/2015-03-31/functions/f/invocations", "")
    assert operation == "Invoke"
    assert Action("lambda", operation, "k", "us-east-1").iam_action == "lambda:InvokeFunction"


def test_a_functions_own_calls_are_recorded_under_its_own_key(lab: Lab, emulator: str) -> None:
    from lambda_helpers import deploy, invoke

    from streamlab.local.identities import FUNCTION_ACCESS_KEY, NOTEBOOK_ACCESS_KEY

    name = deploy(
        lab,
        "import boto3\n\ndef handler(event, context):\n"
        "    return len(boto3.client('dynamodb').list_tables()['TableNames'])\n",
    )
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    _actions(emulator, "DELETE")
    assert invoke(lab, name)["StatusCode"] == 200
    by_key = {(entry["action"], entry["access_key"]) for entry in _actions(emulator)}
    assert ("lambda:InvokeFunction", NOTEBOOK_ACCESS_KEY) in by_key
    assert ("dynamodb:ListTables", FUNCTION_ACCESS_KEY) in by_key
    assert ("dynamodb:ListTables", NOTEBOOK_ACCESS_KEY) not in by_key
