"""Streams: enable/disable, shards, reading from any position across shards, differences."""

from __future__ import annotations

import pytest

from streamlab.aws import streams, tables
from streamlab.aws.session import Lab
from streamlab.errors import LabError


def fresh_table(lab: Lab, base: str) -> str:
    name = lab.name(base)
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("RecordID", "N"))
    return name


def put(lab: Lab, table: str, record_id: int, **attributes) -> None:
    tables.put_items(lab, table, [{"RecordID": record_id, **attributes}])


def test_enable_is_idempotent_and_refuses_another_view_type(lab: Lab) -> None:
    table = fresh_table(lab, "UnitStreamsEnable")
    assert streams.stream_arn(lab, table) is None
    arn = streams.enable_stream(lab, table, "NEW_IMAGE")
    assert streams.enable_stream(lab, table, "NEW_IMAGE") == arn
    assert "/stream/" in arn
    with pytest.raises(LabError, match="view type cannot change"):
        streams.enable_stream(lab, table, "KEYS_ONLY")
    with pytest.raises(LabError, match="not a stream view type"):
        streams.enable_stream(lab, table, "EVERYTHING")


def test_disable_turns_it_off(lab: Lab) -> None:
    table = fresh_table(lab, "UnitStreamsDisable")
    streams.enable_stream(lab, table, "KEYS_ONLY")
    assert streams.disable_stream(lab, table) is True
    assert streams.stream_arn(lab, table) is None
    assert streams.disable_stream(lab, table) is False


def test_missing_table_is_a_clear_error(lab: Lab) -> None:
    with pytest.raises(LabError, match="There is no table"):
        streams.stream_arn(lab, lab.name("UnitStreamsNoSuchTable"))


def test_records_of_insert_modify_remove_in_order_and_no_op_writes_none(lab: Lab) -> None:
    table = fresh_table(lab, "UnitStreamsEvents")
    put(lab, table, 0, PlayerName="Before")  # before the stream: not in it
    arn = streams.enable_stream(lab, table, "NEW_AND_OLD_IMAGES")
    put(lab, table, 1, PlayerName="Alice")
    put(lab, table, 1, PlayerName="Alison")
    put(lab, table, 1, PlayerName="Alison")  # changes nothing: no record
    lab.dynamodb.delete_item(TableName=table, Key={"RecordID": {"N": "1"}})
    records = streams.read_records(lab, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers)
    assert [streams.decode(r).summary() for r in records] == [
        "INSERT RecordID=1: new item: PlayerName=Alice",
        "MODIFY RecordID=1: PlayerName Alice -> Alison",
        "REMOVE RecordID=1: deleted item: PlayerName=Alison",
    ]


def test_read_from_a_sequence_number_or_latest(lab: Lab) -> None:
    table = fresh_table(lab, "UnitStreamsPositions")
    arn = streams.enable_stream(lab, table, "KEYS_ONLY")
    for record_id in (1, 2, 3):
        put(lab, table, record_id)
    records = streams.read_records(lab, arn)  # shard by shard: not in write order across keys
    by_id = {r["dynamodb"]["Keys"]["RecordID"]["N"]: r for r in records}
    second = by_id["2"]["dynamodb"]["SequenceNumber"]
    at = streams.read_records(lab, arn, position="AT_SEQUENCE_NUMBER", sequence_number=second)
    after = streams.read_records(lab, arn, position="AFTER_SEQUENCE_NUMBER", sequence_number=second)

    def ids(records):
        return sorted(r["dynamodb"]["Keys"]["RecordID"]["N"] for r in records)

    assert ids(at) == ["2", "3"]
    assert ids(after) == ["3"]
    assert streams.read_records(lab, arn, position="LATEST") == []
    with pytest.raises(LabError, match="needs sequence_number"):
        streams.read_records(lab, arn, position="AT_SEQUENCE_NUMBER")
    with pytest.raises(LabError, match="not a stream position"):
        streams.read_records(lab, arn, position="OLDEST")


def test_reading_spans_every_shard_parents_first(lab: Lab, monkeypatch) -> None:
    """Two shards (a closed parent and its child), as AWS has after a split."""
    shards = [
        {
            "ShardId": "child",
            "ParentShardId": "parent",
            "SequenceNumberRange": {"StartingSequenceNumber": "300"},
        },
        {
            "ShardId": "parent",
            "SequenceNumberRange": {"StartingSequenceNumber": "100", "EndingSequenceNumber": "200"},
        },
    ]
    contents = {"parent": ["100", "200"], "child": ["300", "400"]}

    class FakeStreams:
        def describe_stream(self, **request):
            return {"StreamDescription": {"Shards": shards}}

        def get_shard_iterator(self, **request):
            return {"ShardIterator": f"{request['ShardId']}|{request['ShardIteratorType']}"}

        def get_records(self, ShardIterator):
            shard, kind = ShardIterator.split("|")
            if kind == "done":
                return {"Records": [], "NextShardIterator": None if shard == "parent" else "x|done"}
            records = [
                {"eventName": "INSERT", "dynamodb": {"SequenceNumber": n}} for n in contents[shard]
            ]
            return {"Records": records, "NextShardIterator": f"{shard}|done"}

    class FakeLab:
        backend = "local"
        dynamodbstreams = FakeStreams()

    assert [s["ShardId"] for s in streams.list_shards(FakeLab(), "arn")] == ["parent", "child"]
    numbers = [r["dynamodb"]["SequenceNumber"] for r in streams.read_records(FakeLab(), "arn")]
    assert numbers == ["100", "200", "300", "400"]
    after = streams.read_records(
        FakeLab(), "arn", position="AFTER_SEQUENCE_NUMBER", sequence_number="300"
    )
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == ["400"]


def test_image_changes_for_modify_insert_and_remove() -> None:
    old = {"RecordID": 1, "PlayerName": "Alice", "NickName": "A"}
    new = {"RecordID": 1, "PlayerName": "Alison", "Score": 5}
    assert streams.image_changes(old, new) == {
        "PlayerName": ("Alice", "Alison"),
        "NickName": ("A", None),
        "Score": (None, 5),
    }
    assert streams.image_changes(None, {"RecordID": 1}) == {"RecordID": (None, 1)}
    assert streams.image_changes({"RecordID": 1}, None) == {"RecordID": (1, None)}
    assert streams.image_changes(old, old) == {}


def test_follower_returns_only_new_records(lab: Lab) -> None:
    table = fresh_table(lab, "UnitStreamsFollower")
    arn = streams.enable_stream(lab, table, "NEW_IMAGE")
    put(lab, table, 1)
    follower = streams.StreamFollower(lab, arn)
    assert len(follower.poll()) == 1
    assert follower.poll() == []
    put(lab, table, 2)
    assert [r["dynamodb"]["Keys"]["RecordID"]["N"] for r in follower.poll()] == ["2"]
    latest = streams.StreamFollower(lab, arn, position="LATEST")
    assert latest.poll() == []
    put(lab, table, 3)
    assert len(latest.poll()) == 1


def test_follower_reads_a_child_only_after_its_parent_has_ended() -> None:
    """A parent still holding records, and its child: the child waits for the parent's end."""
    shards = [
        {"ShardId": "child", "ParentShardId": "parent", "SequenceNumberRange": {}},
        {"ShardId": "parent", "SequenceNumberRange": {"EndingSequenceNumber": "200"}},
    ]
    pages = {"parent": [["100"], ["200"], []], "child": [["300"], []]}

    class FakeStreams:
        def describe_stream(self, **request):
            return {"StreamDescription": {"Shards": shards}}

        def get_shard_iterator(self, **request):
            return {"ShardIterator": f"{request['ShardId']}|0"}

        def get_records(self, ShardIterator):
            shard, page = ShardIterator.split("|")
            numbers = pages[shard][int(page)]
            following = int(page) + 1
            ended = shard == "parent" and following == len(pages[shard])
            return {
                "Records": [{"dynamodb": {"SequenceNumber": n}} for n in numbers],
                "NextShardIterator": None
                if ended
                else f"{shard}|{min(following, len(pages[shard]) - 1)}",
            }

    class FakeLab:
        backend = "local"
        dynamodbstreams = FakeStreams()

    follower = streams.StreamFollower(FakeLab(), "arn")
    seen = []
    for _ in range(5):
        seen += [r["dynamodb"]["SequenceNumber"] for r in follower.poll()]
    assert seen == ["100", "200", "300"]


def test_at_least_waits_for_records_then_explains(lab: Lab) -> None:
    table = fresh_table(lab, "UnitStreamsAtLeast")
    arn = streams.enable_stream(lab, table, "KEYS_ONLY")
    put(lab, table, 1)
    assert len(streams.read_records(lab, arn, at_least=1)) == 1
    with pytest.raises(LabError, match="Only 1 of the 5 expected stream records"):
        streams.read_records(lab, arn, at_least=5, timeout=0.2)
    with pytest.raises(LabError, match="LATEST sees only"):
        streams.read_records(lab, arn, position="LATEST", at_least=1)


def test_enabling_waits_until_the_stream_is_enabled() -> None:
    answers = iter(["ENABLING", "ENABLING", "ENABLED"])

    class FakeStreams:
        calls = 0

        def describe_stream(self, StreamArn):
            FakeStreams.calls += 1
            return {"StreamDescription": {"StreamStatus": next(answers)}}

    class FakeLab:
        backend = "local"
        dynamodbstreams = FakeStreams()

    streams.wait_until_enabled(FakeLab(), "arn")
    assert FakeStreams.calls == 3


def test_read_range_stays_in_its_shard(lab: Lab) -> None:
    """An on-failure message names a shard and a range: other shards' records in between are
    not part of the batch, although the emulator numbers records across the whole stream."""
    table = fresh_table(lab, "UnitStreamsRange")
    arn = streams.enable_stream(lab, table, "KEYS_ONLY")
    for record_id in range(1, 13):
        put(lab, table, record_id)
    by_shard: dict[str, list[str]] = {}
    for shard in streams.list_shards(lab, arn):
        iterator = lab.dynamodbstreams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        numbers = [r["dynamodb"]["SequenceNumber"] for r in streams.read_shard(lab, iterator)]
        if numbers:
            by_shard[shard["ShardId"]] = numbers
    shard_id, numbers = max(by_shard.items(), key=lambda item: len(item[1]))
    assert len(numbers) >= 2 and len(by_shard) > 1
    first, last = numbers[0], numbers[-1]
    others = [n for s, ns in by_shard.items() if s != shard_id for n in ns]
    assert any(int(first) < int(n) < int(last) for n in others)  # interleaved numbers
    got = streams.read_range(lab, arn, shard_id, first, last)
    assert [r["dynamodb"]["SequenceNumber"] for r in got] == numbers
    assert [
        r["dynamodb"]["SequenceNumber"]
        for r in streams.read_range(lab, arn, shard_id, numbers[1], numbers[1])
    ] == [numbers[1]]
