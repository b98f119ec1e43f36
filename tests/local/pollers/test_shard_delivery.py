"""A mapping reads every shard of its stream, parents before children, in order per shard.

The emulator runs in this process with its invoker replaced by a recorder (see
conftest). Each test picks the shard policy of its stream: several shards, and
shards that roll over into children after a few records, as AWS's do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from mapping_helpers import InProcess, Recorder, function, role, stream_table, unique, wait_for

from streamlab.aws import streams
from streamlab.local import stream_shards
from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.stream_shards import ShardPolicy


@pytest.fixture()
def use_policy() -> Iterator[Callable[[ShardPolicy], None]]:
    previous = stream_shards.current_policy()
    yield stream_shards.configure
    stream_shards.configure(previous)


@pytest.fixture()
def setup(inprocess_emulator: InProcess, recorder: Recorder) -> dict:
    lab = inprocess_emulator.lab
    return {
        "lab": lab,
        "recorder": recorder,
        "app": inprocess_emulator.app,
        "role": role(lab, unique(lab, "shards-role")),
    }


def make_stream(s: dict, base: str) -> None:
    lab = s["lab"]
    s["table"] = unique(lab, base)
    s["stream"] = stream_table(lab, s["table"])
    s["function"] = unique(lab, f"{base.lower()}-fn")
    s["arn"] = function(lab, s["function"], s["role"])


def mapping(s: dict, **settings: object) -> str:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    uuid = s["lab"].lambda_.create_event_source_mapping(
        FunctionName=s["function"], EventSourceArn=s["stream"], **settings
    )["UUID"]
    wait_for(lambda: s["lab"].lambda_.get_event_source_mapping(UUID=uuid)["State"] == "Enabled")
    return uuid


def put(s: dict, key: str, value: int) -> None:
    s["lab"].dynamodb.put_item(
        TableName=s["table"], Item={"id": {"S": key}, "v": {"N": str(value)}}
    )


def shard_of_each_record(s: dict) -> dict[str, str]:
    """Sequence number -> shard id, read from the stream itself."""
    lab, arn = s["lab"], s["stream"]
    result: dict[str, str] = {}
    for shard in streams.list_shards(lab, arn):
        iterator = lab.dynamodbstreams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.read_shard(lab, iterator):
            result[record["dynamodb"]["SequenceNumber"]] = shard["ShardId"]
    return result


def delivered(s: dict) -> list[tuple[int, dict]]:
    """(event number, record) for every record the function received, in delivery order."""
    with s["recorder"].lock:
        events = [event for arn, event in s["recorder"].events if arn == s["arn"]]
    return [(n, record) for n, event in enumerate(events) for record in event.get("Records", [])]


def value(record: dict) -> int:
    return int(record["dynamodb"]["NewImage"]["v"]["N"])


def key(record: dict) -> str:
    return record["dynamodb"]["Keys"]["id"]["S"]


def test_every_shard_is_read_and_each_batch_comes_from_one_shard(setup: dict) -> None:
    s = setup
    make_stream(s, "AllShards")
    for round_ in range(4):
        for k in range(16):
            put(s, f"key-{k}", round_)
    mapping(s, BatchSize=100)
    wait_for(lambda: len(delivered(s)) >= 64, what="every record delivered")
    records = delivered(s)
    assert len(records) == 64  # exactly once
    shard_of = shard_of_each_record(s)
    assert len(set(shard_of.values())) > 1  # the records really are spread over shards
    per_event: dict[int, set[str]] = {}
    for n, record in records:
        per_event.setdefault(n, set()).add(shard_of[record["dynamodb"]["SequenceNumber"]])
    assert all(len(shards) == 1 for shards in per_event.values())
    per_key: dict[str, list[int]] = {}
    for _, record in records:
        per_key.setdefault(key(record), []).append(value(record))
    assert all(values == [0, 1, 2, 3] for values in per_key.values())


def test_children_are_read_after_their_parents_and_order_per_key_holds(
    setup: dict, use_policy: Callable
) -> None:
    s = setup
    use_policy(ShardPolicy(shards=2, rollover_records=3))
    make_stream(s, "Rollover")
    for round_ in range(10):
        for k in range(4):
            put(s, f"key-{k}", round_)
    shards = streams.list_shards(s["lab"], s["stream"])
    assert any("ParentShardId" in shard for shard in shards)

    def slowly(arn: str, event: dict) -> InvokeResult:
        time.sleep(0.02)  # gives a child read too early the chance to overtake its parent
        return InvokeResult()

    s["recorder"].respond = slowly
    mapping(s, BatchSize=2)
    wait_for(lambda: len(delivered(s)) >= 40, what="every record delivered")
    records = delivered(s)
    assert len(records) == 40
    per_key: dict[str, list[int]] = {}
    for _, record in records:
        per_key.setdefault(key(record), []).append(value(record))
    assert all(values == list(range(10)) for values in per_key.values()), per_key
    shard_of = shard_of_each_record(s)
    first_event: dict[str, int] = {}
    last_event: dict[str, int] = {}
    for n, record in records:
        shard_id = shard_of[record["dynamodb"]["SequenceNumber"]]
        first_event.setdefault(shard_id, n)
        last_event[shard_id] = n
    for shard in shards:
        parent = shard.get("ParentShardId")
        if parent in last_event and shard["ShardId"] in first_event:
            assert first_event[shard["ShardId"]] > last_event[parent], shard


def test_a_failing_record_blocks_only_its_own_shard(setup: dict) -> None:
    s = setup
    make_stream(s, "Blocked")
    for k in range(16):
        put(s, f"key-{k}", 0)
    shard_of = shard_of_each_record(s)
    records = streams.read_records(s["lab"], s["stream"])
    poison = "key-0"
    blocked = shard_of[next(r["dynamodb"]["SequenceNumber"] for r in records if key(r) == poison)]
    free = {key(r) for r in records if shard_of[r["dynamodb"]["SequenceNumber"]] != blocked}
    assert free, "every key hashed to the poisoned shard: the test proves nothing"

    def respond(arn: str, event: dict) -> InvokeResult:
        if any(key(record) == poison for record in event["Records"]):
            return InvokeResult(function_error="Unhandled")
        return InvokeResult()

    s["recorder"].respond = respond
    uuid = mapping(s, BatchSize=100)
    try:
        # key-0 fails for ever (default retries), yet every other shard's records arrive.
        wait_for(lambda: free <= {key(r) for _, r in delivered(s)}, what="the other shards")
        checkpoints = s["app"].stream_mappings.poller(uuid).checkpoints()
        assert checkpoints[blocked] == [0]  # its shard waits at the failing batch
        assert all(checkpoints[shard][0] > 0 for shard in set(shard_of.values()) - {blocked})
    finally:
        s["lab"].lambda_.delete_event_source_mapping(UUID=uuid)


def test_latest_starts_every_shard_after_what_was_already_written(setup: dict) -> None:
    s = setup
    make_stream(s, "Latest")
    for k in range(8):
        put(s, f"old-{k}", 0)
    mapping(s, StartingPosition="LATEST")
    for k in range(8):
        put(s, f"new-{k}", 1)
    wait_for(lambda: len(delivered(s)) >= 8, what="the new records")
    assert sorted(key(r) for _, r in delivered(s)) == sorted(f"new-{k}" for k in range(8))


def test_tumbling_windows_are_kept_per_shard(setup: dict) -> None:
    s = setup
    make_stream(s, "Windows")
    for k in range(12):
        put(s, f"key-{k}", 1)
    mapping(s, BatchSize=100, TumblingWindowInSeconds=1)
    wait_for(
        lambda: len({e["shardId"] for a, e in s["recorder"].events if a == s["arn"]}) > 1
        and len(delivered(s)) >= 12,
        what="windows from several shards",
    )
    shard_of = shard_of_each_record(s)
    with s["recorder"].lock:
        events = [e for arn, e in s["recorder"].events if arn == s["arn"]]
    for event in events:
        assert {shard_of[r["dynamodb"]["SequenceNumber"]] for r in event["Records"]} <= {
            event["shardId"]
        }


def test_get_records_and_lambda_see_the_same_event_ids(setup: dict) -> None:
    """As on AWS, a record's eventID is one id (idempotent handlers key on it; lab 05 does)."""
    s = setup
    make_stream(s, "EventIds")
    for k in range(6):
        put(s, f"key-{k}", k)
    mapping(s, BatchSize=100)
    wait_for(lambda: len(delivered(s)) >= 6, what="every record delivered")
    delivered_ids = {r["dynamodb"]["SequenceNumber"]: r["eventID"] for _, r in delivered(s)}
    read_ids = {
        r["dynamodb"]["SequenceNumber"]: r["eventID"]
        for r in streams.read_records(s["lab"], s["stream"])
    }
    assert read_ids == delivered_ids
    assert all(len(i) == 32 for i in read_ids.values())
