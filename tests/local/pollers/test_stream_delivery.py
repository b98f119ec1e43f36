"""Stream records reach functions as AWS delivers them (AWS_FIDELITY.md).

The emulator runs in this process with its invoker replaced by a recorder (see
conftest), so these tests see exactly what the pollers send and can make the
function fail on demand; the end-to-end tests with real handlers are separate.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
from mapping_helpers import (
    InProcess,
    Recorder,
    function,
    role,
    stream_table,
    unique,
    wait_for,
)
from werkzeug.serving import make_server

from streamlab.aws.session import connect
from streamlab.config import load_config
from streamlab.local import stream_shards
from streamlab.local.control import free_port
from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.pollers.poller import FALLBACK_POLL_SECONDS
from streamlab.local.server import build_app

REGION = "eu-west-1"  # not moto's us-east-1, so the record's awsRegion is checked


@pytest.fixture(autouse=True, scope="module")
def one_shard() -> Iterator[None]:
    """These tests follow batches through one shard; test_shard_delivery covers several."""
    previous = stream_shards.configure(stream_shards.ShardPolicy(shards=1))
    yield
    stream_shards.configure(previous)


@pytest.fixture()
def setup(inprocess_emulator: InProcess, recorder: Recorder) -> dict:
    lab = inprocess_emulator.lab
    table = unique(lab, "Delivery")
    stream = stream_table(lab, table, region=REGION)
    role_arn = role(lab, unique(lab, "delivery-role"))
    fn = unique(lab, "delivery-fn")
    fn_arn = function(lab, fn, role_arn, region=REGION)
    return {
        "lab": lab,
        "table": table,
        "stream": stream,
        "function": fn,
        "arn": fn_arn,
        "role": role_arn,
        "ddb": lab.client("dynamodb", region=REGION),
        "lambda": lab.client("lambda", region=REGION),
        "recorder": recorder,
    }


def mapping(s: dict, function_name: str | None = None, **settings: object) -> str:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    uuid = s["lambda"].create_event_source_mapping(
        FunctionName=function_name or s["function"], EventSourceArn=s["stream"], **settings
    )["UUID"]
    wait_for(
        lambda: s["lambda"].get_event_source_mapping(UUID=uuid)["State"] in ("Enabled", "Disabled"),
        what="mapping ready",
    )
    return uuid


def put(s: dict, key: str, **attributes: int) -> None:
    item = {"id": {"S": key}, **{k: {"N": str(v)} for k, v in attributes.items()}}
    s["ddb"].put_item(TableName=s["table"], Item=item)


def keys(records: list[dict]) -> list[str]:
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in records]


def test_records_arrive_in_aws_shape_with_the_right_event_names(setup: dict) -> None:
    s = setup
    mapping(s)
    put(s, "a", score=1)
    put(s, "a", score=1)  # changes nothing: no record
    put(s, "a", score=2)
    s["ddb"].delete_item(TableName=s["table"], Key={"id": {"S": "a"}})
    records = wait_for(
        lambda: len(s["recorder"].records(s["arn"])) >= 3 and s["recorder"].records(s["arn"]),
        what="three records",
    )
    time.sleep(FALLBACK_POLL_SECONDS * 2)
    records = s["recorder"].records(s["arn"])
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record in records:
        assert record["eventVersion"] == "1.1" and record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == REGION and record["eventSourceARN"] == s["stream"]
        assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    insert, modify, remove = records
    assert "OldImage" not in insert["dynamodb"] and "NewImage" not in remove["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["score"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["score"] == {"N": "2"}
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3


def test_batch_size_limits_each_invocation(setup: dict) -> None:
    s = setup
    for i in range(7):
        put(s, f"k{i}")
    mapping(s, BatchSize=3)
    wait_for(lambda: len(s["recorder"].records(s["arn"])) == 7, what="seven records")
    sizes = [len(e["Records"]) for arn, e in s["recorder"].events if arn == s["arn"]]
    assert max(sizes) <= 3 and sum(sizes) == 7


def test_several_mappings_on_one_stream_each_get_every_record(setup: dict) -> None:
    s = setup
    other = unique(s["lab"], "delivery-other")
    other_arn = function(s["lab"], other, s["role"], region=REGION)
    mapping(s)
    mapping(s, other)
    for i in range(5):
        put(s, f"k{i}")
    for arn in (s["arn"], other_arn):
        wait_for(
            lambda arn=arn: keys(s["recorder"].records(arn)) == [f"k{i}" for i in range(5)],
            what="every record on each mapping",
        )


def test_latest_starts_with_the_next_write(setup: dict) -> None:
    s = setup
    put(s, "before")
    mapping(s, StartingPosition="LATEST")
    put(s, "after")
    wait_for(lambda: s["recorder"].records(s["arn"]), what="a record")
    time.sleep(FALLBACK_POLL_SECONDS * 2)
    assert keys(s["recorder"].records(s["arn"])) == ["after"]


def test_disable_and_enable_resume_from_the_checkpoint(setup: dict) -> None:
    s = setup
    uuid = mapping(s)
    put(s, "k0")
    wait_for(lambda: s["recorder"].records(s["arn"]), what="first record")
    s["lambda"].update_event_source_mapping(UUID=uuid, Enabled=False)
    wait_for(
        lambda: s["lambda"].get_event_source_mapping(UUID=uuid)["State"] == "Disabled",
        what="Disabled",
    )
    put(s, "k1")
    put(s, "k2")
    time.sleep(FALLBACK_POLL_SECONDS * 2)
    assert keys(s["recorder"].records(s["arn"])) == ["k0"]
    s["lambda"].update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(
        lambda: keys(s["recorder"].records(s["arn"])) == ["k0", "k1", "k2"], what="resumed records"
    )


def test_delete_stops_delivery(setup: dict) -> None:
    s = setup
    uuid = mapping(s)
    put(s, "k0")
    wait_for(lambda: s["recorder"].records(s["arn"]), what="first record")
    s["lambda"].delete_event_source_mapping(UUID=uuid)
    time.sleep(0.1)
    put(s, "k1")
    time.sleep(FALLBACK_POLL_SECONDS * 3)
    assert keys(s["recorder"].records(s["arn"])) == ["k0"]


def test_filter_criteria_drops_records_that_match_no_pattern(setup: dict) -> None:
    s = setup
    patterns = [
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {"id": {"S": [{"prefix": "p-"}]}}}},
        {"eventName": ["REMOVE"]},
    ]
    uuid = mapping(s, FilterCriteria={"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})
    put(s, "p-1")
    put(s, "q-1")
    put(s, "p-1", score=3)  # MODIFY: filtered out
    s["ddb"].delete_item(TableName=s["table"], Key={"id": {"S": "q-1"}})
    wait_for(lambda: len(s["recorder"].records(s["arn"])) >= 2, what="two records")
    time.sleep(FALLBACK_POLL_SECONDS * 2)
    records = s["recorder"].records(s["arn"])
    assert [(r["eventName"], keys([r])[0]) for r in records] == [
        ("INSERT", "p-1"),
        ("REMOVE", "q-1"),
    ]
    assert s["lambda"].get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"


def test_on_failure_queue_gets_a_description_of_the_failed_batch(setup: dict) -> None:
    s = setup
    lab = s["lab"]
    sqs = lab.client("sqs", region=REGION)
    queue = sqs.create_queue(QueueName=unique(lab, "failures"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def respond(arn: str, event: dict) -> InvokeResult:
        if arn == s["arn"] and "bad" in keys(event["Records"]):
            return InvokeResult(payload={"errorMessage": "bad"}, function_error="Unhandled")
        return InvokeResult()

    s["recorder"].respond = respond
    uuid = mapping(
        s,
        MaximumRetryAttempts=1,
        BatchSize=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    put(s, "bad")
    put(s, "good")
    wait_for(lambda: "good" in keys(s["recorder"].records(s["arn"])), what="the good record")
    assert keys(s["recorder"].records(s["arn"])) == ["bad", "bad", "good"]
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    message = json.loads(messages[0]["Body"])
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 2
    assert message["responseContext"]["functionError"] == "Unhandled"
    info = message["DDBStreamBatchInfo"]
    assert info["streamArn"] == s["stream"] and info["batchSize"] == 1
    bad = s["recorder"].records(s["arn"])[0]["dynamodb"]["SequenceNumber"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == bad
    assert s["lambda"].get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"


def test_on_failure_topic_gets_the_same_description(setup: dict) -> None:
    s = setup
    lab = s["lab"]
    sns, sqs = lab.client("sns", region=REGION), lab.client("sqs", region=REGION)
    topic = sns.create_topic(Name=unique(lab, "failures"))["TopicArn"]
    queue = sqs.create_queue(QueueName=unique(lab, "via-topic"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    s["recorder"].respond = lambda arn, event: InvokeResult(function_error="Unhandled")
    mapping(s, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": topic}})
    put(s, "doomed")
    body = wait_for(
        lambda: sqs.receive_message(QueueUrl=queue).get("Messages"), what="a message via the topic"
    )[0]["Body"]
    message = json.loads(body)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1


def test_report_batch_item_failures_retries_from_the_failed_record(setup: dict) -> None:
    s = setup
    for i in range(4):
        put(s, f"k{i}")
    state = {"failed_once": False}

    def respond(arn: str, event: dict) -> InvokeResult:
        records = event["Records"]
        if arn == s["arn"] and not state["failed_once"] and len(records) == 4:
            state["failed_once"] = True
            failed = records[2]["dynamodb"]["SequenceNumber"]
            return InvokeResult(payload={"batchItemFailures": [{"itemIdentifier": failed}]})
        return InvokeResult()

    s["recorder"].respond = respond
    mapping(s, FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_for(lambda: len(s["recorder"].records(s["arn"])) >= 6, what="the retry")
    batches = [keys(e["Records"]) for arn, e in s["recorder"].events if arn == s["arn"]]
    assert batches == [["k0", "k1", "k2", "k3"], ["k2", "k3"]]


def test_last_processing_result_reports_function_failures(setup: dict) -> None:
    s = setup
    s["recorder"].respond = lambda arn, event: InvokeResult(function_error="Unhandled")
    uuid = mapping(s, MaximumRetryAttempts=0)
    put(s, "k")
    wait_for(
        lambda: (
            s["lambda"].get_event_source_mapping(UUID=uuid)["LastProcessingResult"]
            == "PROBLEM: Function call failed"
        ),
        what="PROBLEM result",
    )


@pytest.mark.emulator
def test_pollers_stop_when_the_emulator_shuts_down() -> None:
    import threading

    from mapping_helpers import Recorder

    port = free_port()
    app = build_app("127.0.0.1", port)
    app.stream_mappings.invoker = Recorder()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lab = connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
        start_emulator=False,
    )
    s = {"lambda": lab.client("lambda", region=REGION)}
    s["stream"] = stream_table(lab, unique(lab, "Shutdown"), region=REGION)
    s["function"] = unique(lab, "shutdown-fn")
    function(lab, s["function"], role(lab, unique(lab, "shutdown-role")), region=REGION)
    uuid = mapping(s)
    poller = app.stream_mappings.poller(uuid)
    lanes = list(poller.lanes)
    assert lanes and all(lane.thread.is_alive() for lane in lanes)
    server.shutdown()
    app.close()
    server.server_close()
    assert not any(lane.thread.is_alive() for lane in lanes)


def test_bisect_batch_on_function_error_isolates_the_bad_record(setup: dict) -> None:
    s = setup
    for i in range(8):
        put(s, f"k{i}")

    def respond(arn: str, event: dict) -> InvokeResult:
        if arn == s["arn"] and "k5" in keys(event["Records"]):
            return InvokeResult(function_error="Unhandled")
        return InvokeResult()

    s["recorder"].respond = respond
    mapping(s, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0)
    wait_for(
        lambda: (
            "k7" in keys(s["recorder"].records(s["arn"]))
            and [
                e
                for a, e in s["recorder"].events
                if a == s["arn"] and len(e["Records"]) == 1 and keys(e["Records"]) == ["k5"]
            ]
        ),
        what="the bad record alone",
    )
    batches = [keys(e["Records"]) for arn, e in s["recorder"].events if arn == s["arn"]]
    assert batches[:4] == [
        [f"k{i}" for i in range(8)],
        ["k0", "k1", "k2", "k3"],
        ["k4", "k5", "k6", "k7"],
        ["k4", "k5"],
    ]
    assert ["k5"] in batches and ["k6", "k7"] in batches


def test_parallelization_factor_runs_batches_concurrently_in_order_per_key(setup: dict) -> None:
    s = setup
    active = {"now": 0, "max": 0}
    guard = threading.Lock()

    def respond(arn: str, event: dict) -> InvokeResult:
        with guard:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.02)
        with guard:
            active["now"] -= 1
        return InvokeResult()

    s["recorder"].respond = respond
    expected: dict[str, list[int]] = {}
    for step in range(120):
        key = f"k{step % 12}"
        expected.setdefault(key, []).append(step)
        put(s, key, step=step)
    mapping(s, ParallelizationFactor=4, BatchSize=5)
    wait_for(lambda: len(s["recorder"].records(s["arn"])) >= 120, what="every record")
    seen: dict[str, list[int]] = {}
    for record in s["recorder"].records(s["arn"]):
        seen.setdefault(keys([record])[0], []).append(
            int(record["dynamodb"]["NewImage"]["step"]["N"])
        )
    assert seen == expected
    assert active["max"] > 1


def test_maximum_batching_window_gathers_records_written_apart(setup: dict) -> None:
    s = setup
    mapping(s, MaximumBatchingWindowInSeconds=3, BatchSize=10)
    for i in range(3):
        put(s, f"k{i}")
        time.sleep(0.1)
    wait_for(lambda: len(s["recorder"].records(s["arn"])) == 3, what="three records")
    batches = [keys(e["Records"]) for arn, e in s["recorder"].events if arn == s["arn"]]
    assert batches == [["k0", "k1", "k2"]]


def test_tumbling_window_carries_state_and_ends_with_a_final_invoke(setup: dict) -> None:
    s = setup

    def respond(arn: str, event: dict) -> InvokeResult:
        total = event["state"].get("count", 0) + len(event["Records"])
        return InvokeResult(payload={"state": {"count": total}})

    s["recorder"].respond = respond
    mapping(s, TumblingWindowInSeconds=2, BatchSize=1)
    put(s, "a")
    put(s, "b")
    final = wait_for(
        lambda: [
            e for a, e in s["recorder"].events if a == s["arn"] and e["isFinalInvokeForWindow"]
        ],
        what="the final invoke",
    )[0]
    assert final["Records"] == [] and final["isWindowTerminatedEarly"] is False
    assert final["state"]["count"] >= 1 and final["eventSourceARN"] == s["stream"]
    events = [e for a, e in s["recorder"].events if a == s["arn"]]
    assert events[0]["state"] == {} and {"start", "end"} <= set(events[0]["window"])
    assert sum(len(e["Records"]) for e in events) == 2
