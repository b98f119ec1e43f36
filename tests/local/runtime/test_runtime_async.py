"""Asynchronous invocations: 202 at once, run later, two retries, destinations."""

from __future__ import annotations

import json

from lambda_helpers import deploy, unique, wait_for

from streamlab.aws.session import Lab

# Counts its attempts in a DynamoDB table; fails while the count is below event["succeed_on"].
COUNTING = """
import boto3
table = boto3.resource("dynamodb").Table("{table}")
def handler(event, context):
    item = table.update_item(
        Key={{"id": event["id"]}},
        UpdateExpression="ADD attempts :one",
        ExpressionAttributeValues={{":one": 1}},
        ReturnValues="UPDATED_NEW",
    )
    attempts = int(item["Attributes"]["attempts"])
    if attempts < event.get("succeed_on", 1):
        raise RuntimeError(f"attempt {{attempts}} failed")
    return {{"attempts": attempts}}
"""


def _table(lab: Lab) -> str:
    name = unique("rt-async")
    lab.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _attempts(lab: Lab, table: str, key: str) -> int:
    item = lab.dynamodb.get_item(TableName=table, Key={"id": {"S": key}}).get("Item")
    return int(item["attempts"]["N"]) if item else 0


def _queue(lab: Lab) -> tuple[str, str]:
    url = lab.sqs.create_queue(QueueName=unique("rt-dest"))["QueueUrl"]
    arn = lab.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _receive_one(lab: Lab, url: str) -> dict:
    def poll() -> list:
        return lab.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])

    return json.loads(wait_for(poll, timeout=20, interval=0.1)[0]["Body"])


def test_event_invocation_returns_202_and_runs_in_the_background(lab: Lab) -> None:
    table = _table(lab)
    name = deploy(lab, COUNTING.format(table=table))
    response = lab.lambda_.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"id": "e1"}).encode()
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    wait_for(lambda: _attempts(lab, table, "e1") == 1)


def test_failed_event_is_retried_twice_then_sent_to_on_failure(lab: Lab) -> None:
    table = _table(lab)
    name = deploy(lab, COUNTING.format(table=table))
    url, arn = _queue(lab)
    lab.lambda_.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": arn}}
    )
    event = {"id": "f1", "succeed_on": 99}
    response = lab.lambda_.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    record = _receive_one(lab, url)
    assert _attempts(lab, table, "f1") == 3  # the first try and two retries
    assert record["version"] == "1.0"
    assert record["requestContext"]["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{name}:$LATEST")
    assert record["requestPayload"] == event
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorMessage"] == "attempt 3 failed"


def test_maximum_retry_attempts_zero_means_one_try(lab: Lab) -> None:
    table = _table(lab)
    name = deploy(lab, COUNTING.format(table=table))
    url, arn = _queue(lab)
    lab.lambda_.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    lab.lambda_.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"id": "z1", "succeed_on": 99}).encode(),
    )
    assert _receive_one(lab, url)["requestContext"]["approximateInvokeCount"] == 1
    assert _attempts(lab, table, "z1") == 1


def test_retry_that_succeeds_goes_to_on_success_through_sns(lab: Lab) -> None:
    table = _table(lab)
    name = deploy(lab, COUNTING.format(table=table))
    url, queue_arn = _queue(lab)
    topic = lab.sns.create_topic(Name=unique("rt-topic"))["TopicArn"]
    lab.sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    lab.lambda_.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": topic}}
    )
    lab.lambda_.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"id": "s1", "succeed_on": 2}).encode(),
    )
    record = _receive_one(lab, url)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"attempts": 2}


def test_a_second_put_of_the_event_invoke_config_replaces_the_first(lab: Lab) -> None:
    table = _table(lab)
    name = deploy(lab, COUNTING.format(table=table))
    _, old_arn = _queue(lab)
    url, new_arn = _queue(lab)
    for arn in (old_arn, new_arn):
        lab.lambda_.put_function_event_invoke_config(
            FunctionName=name,
            MaximumRetryAttempts=0,
            DestinationConfig={"OnFailure": {"Destination": arn}},
        )
    config = lab.lambda_.get_function_event_invoke_config(FunctionName=name)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == new_arn
    lab.lambda_.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"id": "p1", "succeed_on": 99}).encode(),
    )
    assert _receive_one(lab, url)["requestContext"]["condition"] == "RetriesExhausted"
