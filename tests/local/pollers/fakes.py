"""Stand-ins for the shard, the function and the destination, for pure poller tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.pollers.records import SourceRecord, normalise

STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/Scores/stream/2026-01-01T00:00:00.000"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:tally"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:failures"


def raw_record(
    seq: int, key: str, *, value: int = 0, event: str = "INSERT", created: float = 1_700_000_000.0
) -> dict[str, Any]:
    """A record the way moto's shard stores it."""
    import datetime as dt

    image = {"id": {"S": key}, "value": {"N": str(value)}}
    body: dict[str, Any] = {
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": dt.datetime.fromtimestamp(created, dt.timezone.utc).replace(
            tzinfo=None
        ),
        "SequenceNumber": str(seq),
        "SizeBytes": 40,
        "Keys": {"id": {"S": key}},
    }
    if event != "REMOVE":
        body["NewImage"] = image
    return {
        "eventID": "x" * 32,
        "eventName": event,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.0",
        "awsRegion": "us-east-1",
        "dynamodb": body,
    }


class FakeSource:
    """An append-only list of records, like a shard."""

    shard_id = "shardId-test"
    stream_arn = STREAM_ARN
    table_arn = STREAM_ARN.split("/stream/")[0]

    def __init__(self) -> None:
        self.records: list[SourceRecord] = []
        self.lock = threading.Lock()
        self.trimmed_records = 0  # records before this position are trimmed (24 h old)

    def add(
        self, key: str, *, value: int = 0, created: float = 1_700_000_000.0, event: str = "INSERT"
    ) -> SourceRecord:
        with self.lock:
            index = len(self.records)
            record = normalise(
                raw_record(1000 + index, key, value=value, created=created, event=event),
                index=index,
                region="eu-west-1",
                stream_arn=STREAM_ARN,
            )
            self.records.append(record)
            return record

    def read(self, start: int, limit: int) -> list[SourceRecord]:
        with self.lock:
            return list(self.records[start : start + limit])

    def length(self) -> int:
        return len(self.records)

    def trimmed(self) -> int:
        return self.trimmed_records



class FakeInvoker:
    """Records every event; answers with ``respond(event)`` (default: success)."""

    def __init__(self, respond: Callable[[dict[str, Any]], InvokeResult] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.respond = respond or (lambda event: InvokeResult())
        self.lock = threading.Lock()

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        with self.lock:
            self.events.append(event)
        return self.respond(event)

    def batches(self) -> list[list[str]]:
        """The sequence numbers of each invocation, in order."""
        return [[r["dynamodb"]["SequenceNumber"] for r in e["Records"]] for e in self.events]


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, destination_arn: str, message: dict[str, Any]) -> None:
        self.sent.append((destination_arn, message))


def failing(result_error: str = "Unhandled") -> InvokeResult:
    return InvokeResult(
        payload={"errorMessage": "boom", "errorType": "Exception"}, function_error=result_error
    )
