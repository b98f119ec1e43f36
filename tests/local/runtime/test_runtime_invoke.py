"""Invoke runs the function's code, and the handler sees what Lambda gives it."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError
from lambda_helpers import deploy, invoke, role_arn, unique, zip_source

from streamlab.aws.session import Lab
from streamlab.local.identities import issued

ECHO = """
def handler(event, context):
    return {"event": event}
"""


def test_request_response_returns_the_handlers_result(lab: Lab) -> None:
    name = deploy(lab, ECHO)
    response = invoke(lab, name, {"game": "snake", "score": 7})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["body"] == {"event": {"game": "snake", "score": 7}}


def test_an_empty_payload_is_an_empty_event(lab: Lab) -> None:
    name = deploy(lab, ECHO)
    assert invoke(lab, name)["body"] == {"event": {}}


def test_payload_that_is_not_json_is_refused(lab: Lab) -> None:
    name = deploy(lab, ECHO)
    with pytest.raises(ClientError) as error:
        lab.lambda_.invoke(FunctionName=name, Payload=b"{not json")
    assert error.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert "Could not parse request body into json" in error.value.response["Error"]["Message"]


def test_decimal_results_are_numbers_as_in_the_python_runtime(lab: Lab) -> None:
    name = deploy(
        lab,
        "from decimal import Decimal\n"
        "def handler(event, context):\n"
        "    return {'total': Decimal('42'), 'ratio': Decimal('0.5')}\n",
    )
    assert invoke(lab, name)["raw"] == b'{"total": 42, "ratio": 0.5}'


def test_unknown_function_is_resource_not_found(lab: Lab) -> None:
    with pytest.raises(lab.lambda_.exceptions.ResourceNotFoundException):
        lab.lambda_.invoke(FunctionName=unique("missing"), Payload=b"{}")


def test_function_can_be_named_by_arn(lab: Lab) -> None:
    name = deploy(lab, ECHO)
    arn = lab.lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert invoke(lab, arn, {"by": "arn"})["body"] == {"event": {"by": "arn"}}


def test_dry_run_checks_without_running(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    raise RuntimeError('must not run')\n")
    response = lab.lambda_.invoke(FunctionName=name, InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204


CONTEXT = """
import os
def handler(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": type(context.identity).__name__,
        "client_custom": context.client_context.custom if context.client_context else None,
        "cwd": os.getcwd(),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
    }
"""


def test_context_object_has_lambdas_fields(lab: Lab) -> None:
    name = deploy(lab, CONTEXT, MemorySize=256, Timeout=7)
    client_context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    response = invoke(lab, name, {}, ClientContext=client_context)
    body = response["body"]
    assert body["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"].endswith(f":function:{name}")
    assert body["memory_limit_in_mb"] == "256"  # a string, as in AWS's runtime
    assert body["log_group_name"] == f"/aws/lambda/{name}"
    assert "/[$LATEST]" in body["log_stream_name"]
    assert 0 < body["remaining"] <= 7000
    assert body["identity"] == "CognitoIdentity"
    assert body["client_custom"] == {"k": "v"}
    assert body["cwd"] == body["task_root"]


ENVIRONMENT = """
import os
NAMES = [
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "_HANDLER", "TZ", "GREETING", "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
]
def handler(event, context):
    return {name: os.environ.get(name) for name in NAMES} | {
        "lab_variables": sorted(k for k in os.environ if k.startswith("LAB_")),
    }
"""


def test_environment_has_lambdas_variables_and_the_functions_own(lab: Lab, emulator: str) -> None:
    name = deploy(lab, ENVIRONMENT, Environment={"Variables": {"GREETING": "hi"}})
    env = invoke(lab, name)["body"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == lab.region
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "lambda_function.handler"
    assert env["GREETING"] == "hi"
    assert env["AWS_ENDPOINT_URL"] == emulator
    # The function signs with keys of its own, not the notebook's (as a role on AWS).
    assert env["AWS_ACCESS_KEY_ID"] == issued().function.access_key
    assert env["AWS_ACCESS_KEY_ID"] != issued().notebook.access_key
    assert env["lab_variables"] == []  # the kit's own plumbing is not visible
    if env["TZ"] is not None:
        assert env["TZ"] == ":UTC"


WRITER = """
import boto3
table = boto3.resource("dynamodb").Table("{table}")
def handler(event, context):
    table.put_item(Item={{"id": event["id"], "from": "handler"}})
    return table.get_item(Key={{"id": event["id"]}})["Item"]["from"]
"""


def test_plain_boto3_in_the_handler_reaches_the_emulator(lab: Lab) -> None:
    table = unique("rt-table")
    lab.dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    name = deploy(lab, WRITER.format(table=table))
    assert invoke(lab, name, {"id": "a1"})["body"] == "handler"
    item = lab.dynamodb.get_item(TableName=table, Key={"id": {"S": "a1"}})["Item"]
    assert item["from"] == {"S": "handler"}


IMPORTS = """
import importlib
def handler(event, context):
    results = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            results[name] = "ok"
        except ImportError as error:
            results[name] = str(error)
    return results
"""


def test_stdlib_boto3_and_its_dependencies_import(lab: Lab) -> None:
    name = deploy(lab, IMPORTS)
    modules = ["json", "sqlite3", "boto3", "botocore", "s3transfer", "jmespath", "dateutil"]
    assert invoke(lab, name, {"modules": modules})["body"] == dict.fromkeys(modules, "ok")


@pytest.mark.parametrize("module", ["moto", "streamlab", "psutil", "jupyterlab", "werkzeug"])
def test_packages_lambda_lacks_fail_to_import_at_module_level(lab: Lab, module: str) -> None:
    name = deploy(lab, f"import {module}\ndef handler(event, context):\n    return 'imported'\n")
    response = invoke(lab, name)
    assert response["FunctionError"] == "Unhandled"
    assert response["body"] == {
        "errorMessage": f"Unable to import module 'lambda_function': No module named '{module}'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }


def test_packages_lambda_lacks_fail_inside_the_handler_too(lab: Lab) -> None:
    name = deploy(lab, IMPORTS)
    result = invoke(lab, name, {"modules": ["moto", "psutil"]})["body"]
    assert result == {"moto": "No module named 'moto'", "psutil": "No module named 'psutil'"}


def test_the_functions_own_packages_and_nested_handlers_import(lab: Lab) -> None:
    files = {
        "app/__init__.py": "",
        "app/handlers.py": "from app import helpers\n"
        "def on_event(event, context):\n    return helpers.double(event['n'])\n",
        "app/helpers.py": "def double(n):\n    return 2 * n\n",
        "vendored_lib/__init__.py": "VALUE = 'bundled'\n",
    }
    name = deploy(lab, files, handler="app.handlers.on_event")
    assert invoke(lab, name, {"n": 21})["body"] == 42


def test_layers_are_importable(lab: Lab) -> None:
    layer = lab.lambda_.publish_layer_version(
        LayerName=unique("rt-layer"),
        Content={
            "ZipFile": zip_source(
                {"python/shared_util.py": "def tag():\n    return 'from layer'\n"}
            )
        },
        CompatibleRuntimes=["python3.12"],
    )
    name = deploy(
        lab,
        "import shared_util\ndef handler(event, context):\n    return shared_util.tag()\n",
        Layers=[layer["LayerVersionArn"]],
    )
    assert invoke(lab, name)["body"] == "from layer"


def test_published_versions_and_aliases_run_their_own_code(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    return 'one'\n")
    version = lab.lambda_.publish_version(FunctionName=name)["Version"]
    lab.lambda_.update_function_code(
        FunctionName=name, ZipFile=zip_source("def handler(event, context):\n    return 'two'\n")
    )
    lab.lambda_.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    assert invoke(lab, name)["body"] == "two"
    by_version = invoke(lab, name, Qualifier=version)
    assert by_version["body"] == "one"
    assert by_version["ExecutedVersion"] == version
    assert invoke(lab, name, Qualifier="live")["body"] == "one"
    assert invoke(lab, f"{name}:live")["body"] == "one"


def test_a_runtime_other_than_python_is_refused_with_a_clear_message(lab: Lab) -> None:
    name = unique("rt-node")
    lab.lambda_.create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=role_arn(lab),
        Handler="index.handler",
        Code={"ZipFile": zip_source({"index.js": "exports.handler = async () => 1;"})},
    )
    with pytest.raises(ClientError) as error:
        lab.lambda_.invoke(FunctionName=name, Payload=b"{}")
    assert error.value.response["Error"]["Code"] == "InvalidRuntimeException"
    assert "runs Python functions only" in error.value.response["Error"]["Message"]
