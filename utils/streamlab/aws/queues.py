"""SQS queues for on-failure destinations: create idempotently, read what arrived.

Lab 05 sends the description of a failed batch to a queue; learners then read
the queue to see exactly which records were given up on.
"""

from __future__ import annotations

import json
from typing import Any

from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tags


def create_queue(lab: Lab, name: str) -> dict[str, str]:
    """Create (or find) the queue; returns its ``QueueUrl`` and ``QueueArn``."""
    url = lab.sqs.create_queue(QueueName=name, tags=prefix_tags(lab.prefix))["QueueUrl"]
    arn = lab.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return {"QueueUrl": url, "QueueArn": arn}


def receive_all(lab: Lab, queue_url: str, wait_seconds: int = 1, delete: bool = True) -> list[Any]:
    """Every message now in the queue, bodies decoded from JSON where they are JSON."""
    messages: list[Any] = []
    while True:
        batch = lab.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            try:
                messages.append(json.loads(message["Body"]))
            except ValueError:
                messages.append(message["Body"])
            if delete:
                lab.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        wait_seconds = 0
