"""The on-failure message: a description of a failed batch, for an SQS queue or SNS topic.

``streamlab.local.destinations.DestinationSender`` delivers it.

AWS sends the batch's coordinates (shard, first and last sequence number, its
size), never its records: the learner reads them back with GetRecords. The
message shape here is AWS's, field for field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from .invoker import InvokeResult
from .records import SourceRecord

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
