"""Records reach the function in AWS's shape, whatever moto stored."""

from __future__ import annotations

import re

from streamlab.local.pollers.records import event_id, normalise

from .fakes import STREAM_ARN, raw_record


def test_record_has_aws_fields_and_values() -> None:
    record = normalise(
        raw_record(1100, "a", value=3), index=0, region="eu-west-1", stream_arn=STREAM_ARN
    ).record
    assert record["eventVersion"] == "1.1"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == STREAM_ARN
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, int) and created == 1_700_000_000
    assert record["dynamodb"]["SequenceNumber"] == "1100"
    assert record["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "value": {"N": "3"}}


def test_event_id_is_stable_for_a_record_and_differs_between_records() -> None:
    assert event_id(STREAM_ARN, "1") == event_id(STREAM_ARN, "1")
    assert event_id(STREAM_ARN, "1") != event_id(STREAM_ARN, "2")


def test_moto_record_is_left_untouched() -> None:
    raw = raw_record(1, "a")
    normalise(raw, index=0, region="eu-west-1", stream_arn=STREAM_ARN)
    assert raw["eventVersion"] == "1.0" and raw["awsRegion"] == "us-east-1"
    assert not isinstance(raw["dynamodb"]["ApproximateCreationDateTime"], int)


def test_remove_record_keeps_no_new_image() -> None:
    record = normalise(
        raw_record(1, "a", event="REMOVE"), index=0, region="eu-west-1", stream_arn=STREAM_ARN
    ).record
    assert record["eventName"] == "REMOVE" and "NewImage" not in record["dynamodb"]
