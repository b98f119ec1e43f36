"""Stream records as Lambda receives them, built from what moto's shard keeps.

moto's records say ``eventVersion`` 1.0, ``awsRegion`` us-east-1 whatever the
table's region, carry a datetime for ``ApproximateCreationDateTime``, a fresh
random ``eventID`` and no ``eventSourceARN``. A poller hands its function
records in AWS's shape, so handler code written locally works unchanged on AWS.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from ..stream_shards import event_id


@dataclass(frozen=True)
class SourceRecord:
    """One stream record, normalised, with what the poller needs to batch it."""

    index: int  # position in the shard: the poller's checkpoints count these
    record: dict[str, Any]  # the record exactly as the function receives it
    arrival: float  # epoch seconds (with fractions) when the change was written
    size: int  # bytes of the record in the event's JSON
    partition_key: str  # the item's key, canonical: per-key order is kept on this

    @property
    def sequence_number(self) -> str:
        return self.record["dynamodb"]["SequenceNumber"]


def epoch_seconds(value: Any) -> float:
    """moto's naive-UTC datetime (or a number already) as epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.timestamp()
        return calendar.timegm(value.timetuple()) + value.microsecond / 1e6
    raise TypeError(f"unexpected ApproximateCreationDateTime {value!r}")




def normalise(raw: dict[str, Any], *, index: int, region: str, stream_arn: str) -> SourceRecord:
    """AWS's record for moto's ``StreamRecord.record`` (which is left untouched)."""
    arrival = epoch_seconds(raw["dynamodb"]["ApproximateCreationDateTime"])
    body = dict(raw["dynamodb"])  # moto never changes a stored record: a shallow copy is enough
    body["ApproximateCreationDateTime"] = int(arrival)
    ordered_body = {
        key: body[key]
        for key in (
            "ApproximateCreationDateTime",
            "Keys",
            "NewImage",
            "OldImage",
            "SequenceNumber",
            "SizeBytes",
            "StreamViewType",
        )
        if key in body
    }
    record: dict[str, Any] = {
        "eventID": event_id(stream_arn, body["SequenceNumber"]),
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ordered_body,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:  # a TTL deletion: GetRecords says PrincipalId/Type, Lambda's
        identity = raw["userIdentity"]  # event type/principalId
        record["userIdentity"] = {
            "type": identity.get("Type", identity.get("type")),
            "principalId": identity.get("PrincipalId", identity.get("principalId")),
        }
    encoded = json.dumps(record, separators=(",", ":"))
    partition_key = json.dumps(body["Keys"], sort_keys=True, separators=(",", ":"))
    return SourceRecord(index, record, arrival, len(encoded), partition_key)
