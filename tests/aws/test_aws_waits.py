"""The aws backend's slow moments, scripted with botocore's Stubber from AWS's documented answers.

IAM propagation after PutRolePolicy, a table still DELETING when it is created
again, mappings that stay ``Deleting`` for minutes: each is waited for, bounded,
with progress, and the waits of several mappings overlap.
"""

from __future__ import annotations

import pytest
from aws_stubs import ACCOUNT, REGION, StubbedLab, use_fake_time
from botocore.stub import ANY

from streamlab.aws import mappings, tables
from streamlab.aws.tags import prefix_tag_list

STREAM = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alice-Games/stream/2026-01-01T00:00:00.000"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:alice-aggregator"
UUID_1 = "11111111-2222-3333-4444-555555555555"
CANNOT_ACCESS = (
    f"Cannot access stream {STREAM}. Please ensure the role can perform the GetRecords, "
    "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
)


def _mapping(uuid: str, state: str) -> dict:
    return {
        "UUID": uuid,
        "State": state,
        "EventSourceArn": STREAM,
        "FunctionArn": FUNCTION_ARN,
        "StateTransitionReason": "User action",
    }


def _create(lab: StubbedLab):
    return lambda: lab.lambda_.create_event_source_mapping(
        EventSourceArn=STREAM, FunctionName="alice-aggregator", StartingPosition="TRIM_HORIZON"
    )


def test_mapping_creation_is_retried_while_the_role_policy_propagates(monkeypatch) -> None:
    clock, lines = use_fake_time(monkeypatch)
    lab = StubbedLab()
    stub = lab.stub("lambda")
    for _ in range(3):
        stub.add_client_error(
            "create_event_source_mapping", "InvalidParameterValueException", CANNOT_ACCESS, 400
        )
    stub.add_response("create_event_source_mapping", _mapping(UUID_1, "Creating"))
    created = mappings.create_mapping_when_role_ready(
        lab, _create(lab), function_name="alice-aggregator"
    )
    assert created["UUID"] == UUID_1
    lab.assert_all_answered()
    assert lines and "IAM propagation" in lines[0]  # says at once why nothing happens
    assert all("s of 120 s" in line for line in lines if line.startswith("waiting"))


def test_a_role_that_never_gets_the_permission_ends_in_one_line(monkeypatch) -> None:
    clock, _lines = use_fake_time(monkeypatch)
    lab = StubbedLab()
    stub = lab.stub("lambda")
    for _ in range(40):
        stub.add_client_error(
            "create_event_source_mapping", "InvalidParameterValueException", CANNOT_ACCESS, 400
        )
    with pytest.raises(mappings.LabError, match="^Cannot access stream.*--stream TABLE") as raised:
        mappings.create_mapping_when_role_ready(lab, _create(lab), function_name="alice-aggregator")
    assert "\n" not in str(raised.value)
    assert clock.now == pytest.approx(mappings.PROPAGATION_SECONDS["aws"])  # bounded


def test_other_invalid_parameters_are_not_retried(monkeypatch) -> None:
    use_fake_time(monkeypatch)
    lab = StubbedLab()
    lab.stub("lambda").add_client_error(
        "create_event_source_mapping", "InvalidParameterValueException", "BatchSize too big", 400
    )
    with pytest.raises(lab.lambda_.exceptions.InvalidParameterValueException):
        mappings.create_mapping_when_role_ready(lab, _create(lab), function_name="alice-aggregator")
    lab.assert_all_answered()


def test_several_mappings_are_deleted_first_then_waited_for_together(monkeypatch) -> None:
    """Deleting three mappings that each stay Deleting for a while takes one wait, not three."""
    clock, lines = use_fake_time(monkeypatch)
    lab = StubbedLab()
    stub = lab.stub("lambda")
    uuids = [f"{n}{n}{n}{n}{n}{n}{n}{n}-1111-2222-3333-444444444444" for n in range(1, 4)]
    for uuid in uuids:  # every delete is sent before any wait starts
        deleting = _mapping(uuid, "Deleting")
        stub.add_response("delete_event_source_mapping", deleting, {"UUID": uuid})
    for _round in range(3):  # each still Deleting for three looks (15 s at AWS's 5 s pace)
        for uuid in uuids:
            stub.add_response(
                "get_event_source_mapping", _mapping(uuid, "Deleting"), {"UUID": uuid}
            )
    for _uuid in uuids:
        stub.add_client_error("get_event_source_mapping", "ResourceNotFoundException", "gone", 404)
    mappings.delete_mappings(lab, uuids)
    lab.assert_all_answered()
    # One shared wait of about three polls; one after another it would be three times that.
    assert clock.now < 3 * 3 * mappings.POLL_SECONDS["aws"]
    assert any("3 event source mapping(s) to finish deleting" in line for line in lines)


def _table(status: str) -> dict:
    return {
        "Table": {
            "TableName": "alice-Games",
            "TableStatus": status,
            "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alice-Games",
        }
    }


def test_creating_a_table_that_is_still_being_deleted_waits_then_creates(monkeypatch) -> None:
    clock, lines = use_fake_time(monkeypatch)
    lab = StubbedLab()
    stub = lab.stub("dynamodb")
    stub.add_response("describe_table", _table("DELETING"), {"TableName": "alice-Games"})
    for _ in range(5):
        stub.add_response("describe_table", _table("DELETING"), {"TableName": "alice-Games"})
    stub.add_client_error("describe_table", "ResourceNotFoundException", "not found", 400)
    stub.add_response(
        "create_table",
        {"TableDescription": {"TableName": "alice-Games", "TableStatus": "CREATING"}},
        {
            "TableName": "alice-Games",
            "KeySchema": ANY,
            "AttributeDefinitions": ANY,
            "BillingMode": "PAY_PER_REQUEST",
            "Tags": prefix_tag_list("alice-"),
        },
    )
    stub.add_response("describe_table", _table("CREATING"), {"TableName": "alice-Games"})
    stub.add_response("describe_table", _table("ACTIVE"), {"TableName": "alice-Games"})
    stub.add_response("describe_table", _table("ACTIVE"), {"TableName": "alice-Games"})
    description = tables.create_table(lab, "alice-Games", hash_key=("id", "S"))
    assert description["TableStatus"] == "ACTIVE"
    lab.assert_all_answered()
    assert any("table alice-Games to finish deleting: still DELETING" in line for line in lines)


def test_waiting_for_a_table_that_is_being_deleted_says_so_at_once(monkeypatch) -> None:
    clock, _ = use_fake_time(monkeypatch)
    lab = StubbedLab()
    lab.stub("dynamodb").add_response(
        "describe_table", _table("DELETING"), {"TableName": "alice-Games"}
    )
    with pytest.raises(tables.LabError, match="being deleted.*create it again"):
        tables.wait_until_active(lab, "alice-Games")
    assert clock.now == 0


def test_log_readers_ride_out_filter_log_events_throttling(monkeypatch) -> None:
    """FilterLogEvents allows about 5 calls/s per account: a throttled poll is "not yet"."""
    from streamlab.aws import logs

    clock, lines = use_fake_time(monkeypatch)
    lab = StubbedLab()
    stub = lab.stub("logs")
    for _ in range(4):
        stub.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded", 400)
    event = {"timestamp": 1, "message": "ERROR boom", "logStreamName": "s", "ingestionTime": 2}
    stub.add_response("filter_log_events", {"events": [event]})
    found = logs.find_logs(lab, "alice-f", "ERROR", sleep=clock.sleep, clock=clock)
    assert [e["message"] for e in found] == ["ERROR boom"]
    lab.assert_all_answered()
    assert any(line.startswith("waiting for log events") and "of 120 s" in line for line in lines)
