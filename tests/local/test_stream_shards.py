"""Several shards per stream, and shards that roll over, as AWS's streams have them.

The emulator runs in this process (``inprocess_emulator``) so each test can
choose the shard policy of the streams it creates; the API is exercised over
HTTP with boto3, as learners' code reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import botocore.exceptions
import pytest
from mapping_helpers import InProcess, stream_table, unique

from streamlab.aws import streams
from streamlab.aws.session import Lab
from streamlab.local import stream_shards
from streamlab.local.stream_shards import ShardPolicy

SHARD_ID = re.compile(r"^shardId-\d{20}-[0-9a-f]{8}$")
SEQUENCE_NUMBER = re.compile(r"^\d{21,40}$")


@pytest.fixture()
def lab(inprocess_emulator: InProcess) -> Lab:
    return inprocess_emulator.lab


@pytest.fixture()
def use_policy() -> Iterator[Callable[[ShardPolicy], None]]:
    """Call ``use_policy(ShardPolicy(...))`` before creating a stream; restored afterwards."""
    previous = stream_shards.current_policy()
    yield stream_shards.configure
    stream_shards.configure(previous)


def put(lab: Lab, table: str, key: str, value: int) -> None:
    lab.dynamodb.put_item(TableName=table, Item={"id": {"S": key}, "v": {"N": str(value)}})


def read_shard_records(lab: Lab, arn: str, shard_id: str) -> tuple[list[dict], bool]:
    """Every record of one shard from TRIM_HORIZON, and whether its iterator chain ended."""
    client = lab.dynamodbstreams
    iterator = client.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict] = []
    for _ in range(100):  # bounded: an open shard never ends
        page = client.get_records(ShardIterator=iterator, Limit=3)
        records.extend(page["Records"])
        if "NextShardIterator" not in page:
            return records, True
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            return records, False
    raise AssertionError("the shard never came to an end or an empty page")


def key_of(record: dict) -> str:
    return record["dynamodb"]["Keys"]["id"]["S"]


def test_a_new_stream_has_several_shards_in_aws_shape(lab: Lab) -> None:
    arn = stream_table(lab, unique(lab, "Shape"))
    shards = lab.dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(shards) == stream_shards.DEFAULT_SHARDS > 1
    for shard in shards:
        assert SHARD_ID.match(shard["ShardId"]), shard
        assert SEQUENCE_NUMBER.match(shard["SequenceNumberRange"]["StartingSequenceNumber"])
        assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]  # open
        assert "ParentShardId" not in shard
    assert len({shard["ShardId"] for shard in shards}) == len(shards)


def test_each_key_stays_in_one_shard_in_order_and_the_first_shard_is_not_enough(
    lab: Lab,
) -> None:
    table = unique(lab, "Keys")
    arn = stream_table(lab, table)
    for round_ in range(3):
        for k in range(12):
            put(lab, table, f"key-{k}", round_)
    shards = streams.list_shards(lab, arn)
    where: dict[str, str] = {}
    total = 0
    for shard in shards:
        records, ended = read_shard_records(lab, arn, shard["ShardId"])
        assert not ended  # open shards always give a next iterator
        total += len(records)
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert numbers == sorted(numbers) and all(SEQUENCE_NUMBER.match(str(n)) for n in numbers)
        for record in records:
            assert where.setdefault(key_of(record), shard["ShardId"]) == shard["ShardId"]
        by_key: dict[str, list[int]] = {}
        for record in records:
            value = int(record["dynamodb"]["NewImage"]["v"]["N"])
            by_key.setdefault(key_of(record), []).append(value)
        assert all(values == [0, 1, 2] for values in by_key.values()), by_key
    assert total == 36 and len(where) == 12
    first, _ = read_shard_records(lab, arn, shards[0]["ShardId"])
    assert len(first) < total  # code that reads only the first shard misses records
    assert len({shard_id for shard_id in where.values()}) > 1


def test_describe_stream_pages_shards_as_aws_does(lab: Lab, use_policy: Callable) -> None:
    use_policy(ShardPolicy(shards=3))
    arn = stream_table(lab, unique(lab, "Pages"))
    client = lab.dynamodbstreams
    everything = client.describe_stream(StreamArn=arn)["StreamDescription"]
    assert "LastEvaluatedShardId" not in everything
    seen: list[str] = []
    request = {"StreamArn": arn, "Limit": 2}
    pages = 0
    while True:
        page = client.describe_stream(**request)["StreamDescription"]
        pages += 1
        assert len(page["Shards"]) <= 2
        seen += [shard["ShardId"] for shard in page["Shards"]]
        if "LastEvaluatedShardId" not in page:
            break
        assert page["LastEvaluatedShardId"] == page["Shards"][-1]["ShardId"]
        request["ExclusiveStartShardId"] = page["LastEvaluatedShardId"]
    assert pages == 2
    assert seen == [shard["ShardId"] for shard in everything["Shards"]]


def test_shards_roll_over_into_children_that_name_their_parent(
    lab: Lab, use_policy: Callable
) -> None:
    use_policy(ShardPolicy(shards=2, rollover_records=3))
    table = unique(lab, "Rollover")
    arn = stream_table(lab, table)
    for value in range(10):
        put(lab, table, "only-key", value)
    shards = streams.list_shards(lab, arn)
    by_id = {shard["ShardId"]: shard for shard in shards}
    children = [shard for shard in shards if "ParentShardId" in shard]
    assert children, "no shard rolled over"
    for child in children:
        parent = by_id[child["ParentShardId"]]
        ending = int(parent["SequenceNumberRange"]["EndingSequenceNumber"])
        assert int(child["SequenceNumberRange"]["StartingSequenceNumber"]) > ending
    values: list[int] = []
    closed_ended = []
    for shard in shards:
        records, ended = read_shard_records(lab, arn, shard["ShardId"])
        values += [int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in records]
        if "EndingSequenceNumber" in shard["SequenceNumberRange"]:
            closed_ended.append(ended)
    assert values == list(range(10))  # parents first: one key's records in order
    assert closed_ended and all(closed_ended)  # a closed shard's iterator chain ends


def test_shards_roll_over_after_a_time(lab: Lab, use_policy: Callable) -> None:
    now = [1000.0]
    use_policy(ShardPolicy(shards=1, rollover_seconds=60, clock=lambda: now[0]))
    table = unique(lab, "Timed")
    arn = stream_table(lab, table)
    put(lab, table, "a", 1)
    assert len(streams.list_shards(lab, arn)) == 1
    now[0] += 61
    shards = streams.list_shards(lab, arn)
    assert len(shards) == 2
    assert shards[1]["ParentShardId"] == shards[0]["ShardId"]
    put(lab, table, "a", 2)
    assert [streams.decode(r).new["v"] for r in streams.read_records(lab, arn)] == [1, 2]


def test_latest_skips_records_already_written_in_that_shard(lab: Lab) -> None:
    table = unique(lab, "Latest")
    arn = stream_table(lab, table)
    for k in range(8):
        put(lab, table, f"k{k}", 1)
    client = lab.dynamodbstreams
    for shard in streams.list_shards(lab, arn):
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        assert client.get_records(ShardIterator=iterator)["Records"] == []


def test_an_unknown_shard_is_resource_not_found(lab: Lab) -> None:
    arn = stream_table(lab, unique(lab, "Unknown"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lab.dynamodbstreams.get_shard_iterator(
            StreamArn=arn,
            ShardId="shardId-00000000000000000000-00000000",
            ShardIteratorType="TRIM_HORIZON",
        )
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_disabled_stream_records_nothing_more(lab: Lab) -> None:
    table = unique(lab, "Disabled")
    arn = stream_table(lab, table)
    put(lab, table, "a", 1)
    lab.dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    put(lab, table, "a", 2)
    assert [streams.decode(r).new["v"] for r in streams.read_records(lab, arn)] == [1]
    description = lab.dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamStatus"] == "DISABLED"
    assert description["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in description["Shards"])
