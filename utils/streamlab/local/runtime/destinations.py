"""Sends an async invocation's record to its on-success or on-failure destination.

Destinations are SQS queues, SNS topics, other functions or EventBridge buses,
reached through the emulator's own endpoint with boto3, like any client:
moto then does the delivery (an SNS topic fans out to its subscriptions).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from botocore.config import Config

from ..service_clients import service_client

log = logging.getLogger("streamlab.runtime")


def timestamp_now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def destination_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    status_code: int,
    executed_version: str | None,
    function_error: str | None,
    response_payload: bytes | None,
) -> dict[str, Any]:
    """The JSON document Lambda sends to a destination after an async invocation."""

    def parsed(data: bytes | None) -> Any:
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return data.decode("utf-8", errors="replace")

    response_context: dict[str, Any] = {
        "statusCode": status_code,
        "executedVersion": executed_version,
    }
    if function_error:
        response_context["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": timestamp_now(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": parsed(request_payload),
        "responseContext": response_context,
        "responsePayload": parsed(response_payload),
    }


class DestinationSender:
    def __init__(self, endpoint: Callable[[], str]) -> None:
        self.endpoint = endpoint
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = service_client(
                    service,
                    region,
                    self.endpoint,
                    Config(retries={"max_attempts": 2}, proxies={}),
                )
            return self._clients[key]

    def send(self, destination_arn: str, record: dict[str, Any]) -> None:
        parts = destination_arn.split(":")
        service, region, account = parts[2], parts[3], parts[4]
        body = json.dumps(record)
        try:
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
                self._client("events", region).put_events(
                    Entries=[
                        {
                            "Source": "lambda",
                            "DetailType": "Lambda Function Invocation Result - "
                            + (
                                "Success"
                                if record["requestContext"]["condition"] == "Success"
                                else "Failure"
                            ),
                            "Detail": body,
                            "EventBusName": destination_arn,
                        }
                    ]
                )
            else:
                log.warning("destination %s: unsupported service %s", destination_arn, service)
        except Exception as exc:  # a missing queue must not stop the async worker
            log.warning("could not deliver to destination %s: %s", destination_arn, exc)
