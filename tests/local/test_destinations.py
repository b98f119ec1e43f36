"""The one destination sender: what the pollers' on-failure and the runtime's async results use."""

from __future__ import annotations

import importlib.util
import json
import uuid

import pytest

from streamlab.aws.session import Lab
from streamlab.local import destinations, pollers, runtime
from streamlab.local.pollers import on_failure


def test_both_destination_users_share_the_one_sender() -> None:
    assert runtime.DestinationSender is destinations.DestinationSender
    assert pollers.DestinationSender is destinations.DestinationSender
    assert not hasattr(on_failure, "DestinationSender")  # it only builds the message now
    assert importlib.util.find_spec("streamlab.local.runtime.destinations") is None


def test_an_unknown_service_is_refused_before_any_call() -> None:
    sender = destinations.DestinationSender("http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ValueError, match="unsupported destination arn:aws:s3"):
        sender.send("arn:aws:s3:us-east-1:123456789012:bucket", {"a": 1})


def test_it_delivers_to_a_queue_and_raises_for_a_missing_one(lab: Lab) -> None:
    name = lab.name(f"dest-{uuid.uuid4().hex[:8]}")
    url = lab.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = lab.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sender = destinations.DestinationSender(lab.endpoint or "")
    try:
        sender.send(arn, {"requestContext": {"condition": "RetriesExhausted"}})
        messages = lab.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        assert json.loads(messages[0]["Body"]) == {
            "requestContext": {"condition": "RetriesExhausted"}
        }
        with pytest.raises(Exception, match="NonExistentQueue|does not exist"):
            sender.send(arn.replace(name, name + "-gone"), {"a": 1})
    finally:
        lab.sqs.delete_queue(QueueUrl=url)
