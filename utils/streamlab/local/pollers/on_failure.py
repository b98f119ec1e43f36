"""The on-failure destination: a description of a failed batch, sent to SQS or SNS.

AWS sends the batch's coordinates (shard, first and last sequence number, its
size), never its records: the learner reads them back with GetRecords. The
message shape here is AWS's, field for field.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import botocore.config

from ..service_clients import Endpoint, service_client
from .invoker import InvokeResult
from .records import SourceRecord

_CONFIG = botocore.config.Config(proxies={}, retries={"total_max_attempts": 2})
RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


def iso_millis(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def failure_message(
    *,
    function_arn: str,
    condition: str,
    invoke_count: int,
    last_result: InvokeResult | None,
    records: Sequence[SourceRecord],
    shard_id: str,
    stream_arn: str,
    now: float,
) -> dict[str, Any]:
    """The JSON document AWS sends to an on-failure destination for a DynamoDB batch."""
    message: dict[str, Any] = {
        "requestContext": {
            "requestId": (
                last_result.request_id
                if last_result and last_result.request_id
                else str(uuid.uuid4())
            ),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if last_result is not None:
        message["responseContext"] = {
            "statusCode": last_result.status_code,
            "executedVersion": last_result.executed_version,
            "functionError": last_result.function_error or "",
        }
    message.update(
        {
            "version": "1.0",
            "timestamp": iso_millis(now),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0].sequence_number,
                "endSequenceNumber": records[-1].sequence_number,
                "approximateArrivalOfFirstRecord": iso_millis(records[0].arrival),
                "approximateArrivalOfLastRecord": iso_millis(records[-1].arrival),
                "batchSize": len(records),
                "streamArn": stream_arn,
            },
        }
    )
    return message


class FailureSender(Protocol):
    def send(self, destination_arn: str, message: dict[str, Any]) -> None:
        """Deliver ``message``; raise if it could not be delivered (the poller retries)."""


class DestinationSender:
    """Sends to SQS (SendMessage) or SNS (Publish) through the emulator's own API."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = service_client(service, region, self._endpoint, _CONFIG)
            return self._clients[key]

    def send(self, destination_arn: str, message: dict[str, Any]) -> None:
        parts = destination_arn.split(":")
        service, region, account, name = parts[2], parts[3], parts[4], parts[5]
        body = json.dumps(message)
        if service == "sqs":
            client = self._client("sqs", region)
            url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            client.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=destination_arn, Message=body)
        else:
            raise ValueError(f"unsupported on-failure destination {destination_arn}")
