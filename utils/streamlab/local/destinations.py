"""The one sender to Lambda destinations: SQS, SNS, another function or EventBridge.

Both kinds of Lambda destination go through it: the on-failure destination of
an event source mapping (``pollers.processor`` sends a description of the batch
it gave up on) and the on-success / on-failure destinations of an asynchronous
invocation (``runtime.async_invoke`` sends the invocation record). It reaches
them through the emulator's own endpoint with boto3, like any client, with the
Lambda service's identity (``service_clients``): moto then does the delivery
(an SNS topic fans out to its subscriptions).

``send`` raises when delivery fails; the caller decides: the pollers retry (a
batch is not checkpointed past until its description is delivered), the async
worker logs and moves on, as Lambda does.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import botocore.config

from .service_clients import Endpoint, service_client


class DestinationSender:
    """Sends a JSON document to the destination an ARN names, one cached client per region."""

    def __init__(self, endpoint: Endpoint, *, attempts: int = 2) -> None:
        """``attempts``: boto3's total attempts per call, the first one included."""
        self._endpoint = endpoint
        self._config = botocore.config.Config(proxies={}, retries={"total_max_attempts": attempts})
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = service_client(service, region, self._endpoint, self._config)
            return self._clients[key]

    def send(self, destination_arn: str, message: dict[str, Any]) -> None:
        """Deliver ``message``; raise if it could not be delivered or the service is unknown."""
        parts = destination_arn.split(":")
        service, region, account = parts[2], parts[3], parts[4]
        body = json.dumps(message)
        if service == "sqs":
            sqs = self._client("sqs", region)
            url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=account)
            sqs.send_message(QueueUrl=url["QueueUrl"], MessageBody=body)
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=destination_arn, Message=body)
        elif service == "lambda":
            self._client("lambda", region).invoke(
                FunctionName=destination_arn, InvocationType="Event", Payload=body.encode()
            )
        elif service == "events":
            success = message.get("requestContext", {}).get("condition") == "Success"
            self._client("events", region).put_events(
                Entries=[
                    {
                        "Source": "lambda",
                        "DetailType": "Lambda Function Invocation Result - "
                        + ("Success" if success else "Failure"),
                        "Detail": body,
                        "EventBusName": destination_arn,
                    }
                ]
            )
        else:
            raise ValueError(f"unsupported destination {destination_arn}")
