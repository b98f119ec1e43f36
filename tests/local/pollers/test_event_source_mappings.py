"""The event source mapping API for DynamoDB streams: defaults, refusals, states.

moto answers Create/Get/List/Update/DeleteEventSourceMapping; the emulator adds
AWS's defaults, its validation and wording, the role check, and the ``State``
transitions and ``LastProcessingResult`` that AWS reports (AWS_FIDELITY.md,
"Event source mappings").
"""

from __future__ import annotations

import time

import botocore.exceptions
import pytest
from mapping_helpers import (
    STREAM_ACTIONS,
    function,
    mapping_state,
    role,
    stream_table,
    unique,
    wait_for,
)

from streamlab.aws import streams
from streamlab.aws.session import Lab


@pytest.fixture(scope="module")
def stream(lab: Lab) -> dict[str, str]:
    table = unique(lab, "MappingApi")
    arn = stream_table(lab, table)
    role_arn = role(lab, unique(lab, "mapping-role"))
    fn = unique(lab, "mapping-fn")
    function(lab, fn, role_arn)
    return {"table": table, "stream": arn, "function": fn, "role": role_arn}


def create(lab: Lab, stream: dict[str, str], **settings: object) -> dict:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    return lab.lambda_.create_event_source_mapping(
        FunctionName=stream["function"], EventSourceArn=stream["stream"], **settings
    )


def refused(lab: Lab, stream: dict[str, str], **settings: object) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        create(lab, stream, **settings)
    return caught.value.response["Error"]


def test_create_reports_creating_then_enabled_with_aws_defaults(
    lab: Lab, stream: dict[str, str]
) -> None:
    mapping = create(lab, stream)
    try:
        assert mapping["State"] == "Creating"
        assert mapping["StateTransitionReason"] == "User action"
        assert mapping["LastProcessingResult"] == "No records processed"
        for key, value in {
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 0,
            "ParallelizationFactor": 1,
            "MaximumRecordAgeInSeconds": -1,
            "BisectBatchOnFunctionError": False,
            "MaximumRetryAttempts": -1,
            "TumblingWindowInSeconds": 0,
            "FunctionResponseTypes": [],
            "DestinationConfig": {"OnFailure": {}},
        }.items():
            assert mapping[key] == value, key
        wait_for(lambda: mapping_state(lab, mapping["UUID"]) == "Enabled", what="Enabled")
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


def test_settings_are_stored_and_listed(lab: Lab, stream: dict[str, str]) -> None:
    mapping = create(
        lab,
        stream,
        BatchSize=7,
        MaximumRetryAttempts=3,
        BisectBatchOnFunctionError=True,
        ParallelizationFactor=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    try:
        listed = lab.lambda_.list_event_source_mappings(EventSourceArn=stream["stream"])
        (found,) = [m for m in listed["EventSourceMappings"] if m["UUID"] == mapping["UUID"]]
        assert (
            found["BatchSize"],
            found["MaximumRetryAttempts"],
            found["BisectBatchOnFunctionError"],
            found["ParallelizationFactor"],
            found["FunctionResponseTypes"],
        ) == (7, 3, True, 2, ["ReportBatchItemFailures"])
        assert found["MaximumRecordAgeInSeconds"] == -1
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


@pytest.mark.parametrize(
    "settings, code, text",
    [
        (
            {"BatchSize": 10001},
            "ValidationException",
            "Value '10001' at 'batchSize' failed to satisfy constraint: Member must have "
            "value less than or equal to 10000",
        ),
        ({"ParallelizationFactor": 11}, "ValidationException", "at 'parallelizationFactor'"),
        ({"MaximumRetryAttempts": 10001}, "ValidationException", "at 'maximumRetryAttempts'"),
        ({"TumblingWindowInSeconds": 901}, "ValidationException", "at 'tumblingWindowInSeconds'"),
        (
            {"MaximumBatchingWindowInSeconds": 301},
            "ValidationException",
            "at 'maximumBatchingWindowInSeconds'",
        ),
        (
            {"MaximumRecordAgeInSeconds": 30},
            "InvalidParameterValueException",
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 "
            "(inclusive)",
        ),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": '{"eventName": "INSERT"}'}]}},
            "InvalidParameterValueException",
            "Invalid filter pattern definition.",
        ),
        ({"StartingPosition": "AT_TIMESTAMP"}, "InvalidParameterValueException", "AT_TIMESTAMP"),
    ],
)
def test_invalid_settings_are_refused_with_aws_wording(
    lab: Lab, stream: dict[str, str], settings: dict, code: str, text: str
) -> None:
    error = refused(lab, stream, **settings)
    assert error["Code"] == code and text in error["Message"]


def test_invalid_update_is_refused_and_changes_nothing(lab: Lab, stream: dict[str, str]) -> None:
    mapping = create(lab, stream, BatchSize=5)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            lab.lambda_.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=20000)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert lab.lambda_.get_event_source_mapping(UUID=mapping["UUID"])["BatchSize"] == 5
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


def test_role_without_stream_permissions_cannot_create_a_mapping(
    lab: Lab, stream: dict[str, str]
) -> None:
    weak = role(lab, unique(lab, "weak-role"), actions=["logs:CreateLogGroup"])
    fn = unique(lab, "weak-fn")
    function(lab, fn, weak)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lab.lambda_.create_event_source_mapping(
            FunctionName=fn, EventSourceArn=stream["stream"], StartingPosition="LATEST"
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == (
        f"Cannot access stream {stream['stream']}. Please ensure the role can perform the "
        "GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream "
        "in IAM."
    )


def test_role_without_send_message_cannot_use_an_sqs_on_failure_destination(
    lab: Lab, stream: dict[str, str]
) -> None:
    reader = role(lab, unique(lab, "reader-role"), actions=STREAM_ACTIONS)
    fn = unique(lab, "reader-fn")
    function(lab, fn, reader)
    queue = lab.sqs.create_queue(QueueName=unique(lab, "failures"))["QueueUrl"]
    queue_arn = lab.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lab.lambda_.create_event_source_mapping(
            FunctionName=fn,
            EventSourceArn=stream["stream"],
            StartingPosition="LATEST",
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
    assert caught.value.response["Error"]["Message"] == (
        f"The function execution role does not have permissions to call SendMessage on {queue_arn}"
    )


def test_disable_and_enable_report_their_transitions(lab: Lab, stream: dict[str, str]) -> None:
    mapping = create(lab, stream)
    uuid = mapping["UUID"]
    try:
        wait_for(lambda: mapping_state(lab, uuid) == "Enabled", what="Enabled")
        assert (
            lab.lambda_.update_event_source_mapping(UUID=uuid, Enabled=False)["State"]
            == "Disabling"
        )
        wait_for(lambda: mapping_state(lab, uuid) == "Disabled", what="Disabled")
        assert (
            lab.lambda_.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
        )
        wait_for(lambda: mapping_state(lab, uuid) == "Enabled", what="Enabled again")
        assert (
            lab.lambda_.update_event_source_mapping(UUID=uuid, BatchSize=10)["State"] == "Updating"
        )
        wait_for(lambda: mapping_state(lab, uuid) == "Enabled", what="Enabled after update")
        assert lab.lambda_.get_event_source_mapping(UUID=uuid)["BatchSize"] == 10
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=uuid)


def test_last_modified_is_the_moment_of_the_call_to_the_millisecond(
    lab: Lab, stream: dict[str, str]
) -> None:
    """As on AWS (moto keeps whole seconds): a reader can tell what came before the mapping."""
    before = time.time()
    mapping = create(lab, stream)
    after = time.time()
    try:
        created = mapping["LastModified"].timestamp()
        assert before <= created <= after
        got = lab.lambda_.get_event_source_mapping(UUID=mapping["UUID"])["LastModified"]
        assert got.timestamp() == created
        wait_for(lambda: mapping_state(lab, mapping["UUID"]) == "Enabled", what="Enabled")
        before = time.time()
        updated = lab.lambda_.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=5)
        assert before <= updated["LastModified"].timestamp() <= time.time()
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


def test_mapping_created_disabled_reports_disabled(lab: Lab, stream: dict[str, str]) -> None:
    mapping = create(lab, stream, Enabled=False)
    try:
        wait_for(lambda: mapping_state(lab, mapping["UUID"]) == "Disabled", what="Disabled")
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


def test_delete_reports_deleting_and_the_mapping_is_gone(lab: Lab, stream: dict[str, str]) -> None:
    mapping = create(lab, stream)
    assert lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])["State"] == "Deleting"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lab.lambda_.get_event_source_mapping(UUID=mapping["UUID"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_writes_with_a_mapping_succeed_and_the_stream_keeps_every_record(
    lab: Lab, stream: dict[str, str]
) -> None:
    """moto's own trigger never runs: the write succeeds and GetRecords still sees it."""
    mapping = create(lab, stream)
    try:
        for i in range(3):
            lab.dynamodb.put_item(TableName=stream["table"], Item={"id": {"S": f"keep-{i}"}})
        keys = [
            r["dynamodb"]["Keys"]["id"]["S"]
            for r in streams.read_records(lab, stream["stream"], at_least=3)
        ]
        assert sorted(k for k in keys if k.startswith("keep-")) == ["keep-0", "keep-1", "keep-2"]
    finally:
        lab.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
