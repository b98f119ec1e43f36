"""The stream viewer on AWS (Stubber): DescribeStream only when needed, throttles ridden out."""

from __future__ import annotations

from aws_stubs import ACCOUNT, REGION, StubbedLab

from streamlab.aws.streams import StreamFollower
from streamlab.widgets.stream_viewer import StreamViewer

ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/alice-Games/stream/2026-01-01T00:00:00.000"
SHARD = "shardId-00000001700000000000-0123abcd"
CHILD = "shardId-00000001700000099999-4567ef01"


def _describe(*shards: str) -> dict:
    return {
        "StreamDescription": {
            "StreamArn": ARN,
            "StreamStatus": "ENABLED",
            "Shards": [
                {"ShardId": shard, "SequenceNumberRange": {"StartingSequenceNumber": "1" * 21}}
                for shard in shards
            ],
        }
    }


def _record(number: int) -> dict:
    return {
        "eventID": f"{number:032x}",
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"RecordID": {"N": str(number)}},
            "NewImage": {"RecordID": {"N": str(number)}},
            "SequenceNumber": f"{number:021d}",
        },
    }


def _records(*numbers: int, next_iterator: str | None = "it-next") -> dict:
    answer: dict = {"Records": [_record(n) for n in numbers]}
    if next_iterator:
        answer["NextShardIterator"] = next_iterator
    return answer


def test_the_follower_reads_the_shard_list_once_not_every_poll() -> None:
    lab = StubbedLab()
    stub = lab.stub("dynamodbstreams")
    stub.add_response("describe_stream", _describe(SHARD), {"StreamArn": ARN})
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-1"})
    for number in range(1, 6):
        stub.add_response("get_records", _records(number))
    follower = StreamFollower(lab, ARN, clock=lambda: 0.0)
    seen = [r["dynamodb"]["Keys"]["RecordID"]["N"] for _ in range(5) for r in follower.poll()]
    assert seen == ["1", "2", "3", "4", "5"]
    assert follower.describe_calls == 1
    lab.assert_all_answered()  # an extra DescribeStream would have had no answer


def test_a_shard_that_ends_makes_the_follower_look_for_its_children() -> None:
    lab = StubbedLab()
    stub = lab.stub("dynamodbstreams")
    stub.add_response("describe_stream", _describe(SHARD), {"StreamArn": ARN})
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-1"})
    stub.add_response("get_records", _records(1, next_iterator=None))  # the shard closed
    stub.add_response("describe_stream", _describe(SHARD, CHILD), {"StreamArn": ARN})
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-child"})
    stub.add_response("get_records", _records(2))
    follower = StreamFollower(lab, ARN, clock=lambda: 0.0)
    assert len(follower.poll()) == 1
    assert [r["dynamodb"]["Keys"]["RecordID"]["N"] for r in follower.poll()] == ["2"]
    lab.assert_all_answered()


def test_the_viewer_keeps_going_after_a_throttle_and_slows_down() -> None:
    lab = StubbedLab()
    stub = lab.stub("dynamodbstreams")
    stub.add_response("describe_stream", _describe(SHARD), {"StreamArn": ARN})
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-1"})
    stub.add_client_error("get_records", "LimitExceededException", "Rate exceeded", 400)
    stub.add_response("get_records", _records(1))
    viewer = StreamViewer(lab, ARN, headless_mode=True)
    assert viewer.interval == 2.0  # on AWS the viewer polls gently
    assert viewer.poll() == 0
    assert viewer.error is None and viewer.throttled == 1 and viewer.interval == 4.0
    assert viewer.poll() == 1 and viewer.interval == 2.0
    assert "1 record(s) seen" in viewer.snapshot().caption
