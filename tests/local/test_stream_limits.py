"""The stream limits AWS documents, kept by the emulator with AWS's error codes.

Iterators expire after 15 minutes, records are trimmed after 24 hours, a
GetRecords answer holds at most 1,000 records and 1 MB, a disabled stream stays
readable for 24 hours under its own ARN after a new one replaced it, and a TTL
deletion writes a REMOVE record with the service's identity. Time is a fake
clock in the shard policy (``use_policy``), never the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import botocore.exceptions
import pytest
from mapping_helpers import InProcess, Recorder, function, role, stream_table, unique

from streamlab.aws import streams, tables
from streamlab.aws.session import Lab
from streamlab.local import moto_patches, stream_shards
from streamlab.local.stream_shards import ShardPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _function(lab: Lab, base: str) -> str:
    """A function (named for this run, with its own role) that mappings can invoke."""
    name = unique(lab, base)
    return function(lab, name, role(lab, name))


def _mapping(lab: Lab, stream_arn: str, function_name: str, **settings: object) -> str:
    """A mapping from ``TRIM_HORIZON`` in batches of up to 10; return its UUID."""
    return lab.lambda_.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function_name, StartingPosition="TRIM_HORIZON",
        BatchSize=10, **settings,
    )["UUID"]


def _ttl_table(lab: Lab, table: str) -> str:
    """A table with a stream and Time to Live on ``expires``; return the stream's ARN."""
    arn = stream_table(lab, table)
    lab.dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    return arn


@pytest.fixture()
def lab(inprocess_emulator: InProcess) -> Lab:
    return inprocess_emulator.lab


@pytest.fixture()
def clock() -> Iterator[FakeClock]:
    """A fake clock for streams created in the test (one shard: records in one place)."""
    fake = FakeClock()
    previous = stream_shards.configure(ShardPolicy(shards=1, clock=fake))
    yield fake
    stream_shards.configure(previous)


def put(lab: Lab, table: str, key: str, **extra: dict) -> None:
    lab.dynamodb.put_item(TableName=table, Item={"id": {"S": key}, **extra})


def only_shard(lab: Lab, arn: str) -> str:
    shards = lab.dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    return shards[0]["ShardId"]


def iterator(lab: Lab, arn: str, kind: str = "TRIM_HORIZON", number: str | None = None) -> str:
    extra = {"SequenceNumber": number} if number else {}
    return lab.dynamodbstreams.get_shard_iterator(
        StreamArn=arn, ShardId=only_shard(lab, arn), ShardIteratorType=kind, **extra
    )["ShardIterator"]


def error_of(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def keys(records: list[dict]) -> list[str]:
    return [record["dynamodb"]["Keys"]["id"]["S"] for record in records]


def delivered(recorder: Recorder, fn: str, at_least: int, timeout: float = 15.0) -> list[dict]:
    """The records delivered to ``fn`` once there are ``at_least`` (or when ``timeout`` ends)."""
    deadline = time.monotonic() + timeout
    while len(recorder.records(fn)) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return recorder.records(fn)


# -- iterators expire after 15 minutes --------------------------------------------------


def test_a_shard_iterator_expires_fifteen_minutes_after_it_was_handed_out(
    lab: Lab, clock: FakeClock
) -> None:
    table = unique(lab, "Expiry")
    arn = stream_table(lab, table)
    put(lab, table, "a")
    first = iterator(lab, arn)
    clock.now += 15 * 60 - 1
    page = lab.dynamodbstreams.get_records(ShardIterator=first)
    assert keys(page["Records"]) == ["a"]
    clock.now += 1  # 15 minutes after GetShardIterator: the first iterator is dead ...
    code, message = error_of(lambda: lab.dynamodbstreams.get_records(ShardIterator=first))
    assert code == "ExpiredIteratorException"
    assert message == moto_patches.ITERATOR_EXPIRED
    # ... the one GetRecords handed out a second ago is not
    assert lab.dynamodbstreams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []


def test_an_expired_iterator_forgotten_by_the_emulator_is_still_expired(
    lab: Lab, clock: FakeClock
) -> None:
    table = unique(lab, "Swept")
    arn = stream_table(lab, table)
    old = iterator(lab, arn)
    clock.now += 15 * 60
    for _ in range(moto_patches.SWEEP_EVERY):  # enough calls for a sweep of expired iterators
        iterator(lab, arn)
    code, _ = error_of(lambda: lab.dynamodbstreams.get_records(ShardIterator=old))
    assert code == "ExpiredIteratorException"


def test_a_stream_follower_left_idle_past_the_iterators_life_goes_on_where_it_was(
    lab: Lab, clock: FakeClock
) -> None:
    """A lab left open over lunch: the live viewer's next poll must not fail or repeat."""
    table = unique(lab, "Idle")
    arn = stream_table(lab, table)
    follower = streams.StreamFollower(lab, arn)
    put(lab, table, "a")
    assert keys(follower.poll()) == ["a"]
    clock.now += 60 * 60
    put(lab, table, "b")
    assert keys(follower.poll()) == ["b"]
    clock.now += 25 * 3600  # a day later: both records trimmed, the follower goes on
    put(lab, table, "c")
    assert keys(follower.poll()) == ["c"]


# -- records are trimmed after 24 hours -------------------------------------------------


def test_records_older_than_24_hours_are_trimmed(lab: Lab, clock: FakeClock) -> None:
    table = unique(lab, "Trim")
    arn = stream_table(lab, table)
    put(lab, table, "old")
    first_number = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, arn))["Records"][0][
        "dynamodb"
    ]["SequenceNumber"]
    clock.now += 12 * 3600
    put(lab, table, "new")
    clock.now += 12 * 3600 - 60  # the old record has a minute left
    at_old = iterator(lab, arn)
    clock.now += 61  # now it is 24 hours old: trimmed
    code, message = error_of(lambda: lab.dynamodbstreams.get_records(ShardIterator=at_old))
    assert (code, message) == ("TrimmedDataAccessException", moto_patches.DATA_TRIMMED)
    code, _ = error_of(lambda: iterator(lab, arn, "AT_SEQUENCE_NUMBER", first_number))
    assert code == "TrimmedDataAccessException"
    # TRIM_HORIZON starts at the oldest record still there
    page = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, arn))
    assert keys(page["Records"]) == ["new"]


def test_a_poller_behind_the_trim_point_goes_on_from_the_oldest_record_left(
    inprocess_emulator: InProcess, recorder: Recorder, clock: FakeClock
) -> None:
    lab = inprocess_emulator.lab
    table = unique(lab, "TrimPoll")
    arn = stream_table(lab, table)
    put(lab, table, "gone")
    clock.now += 24 * 3600  # trimmed before any mapping read it
    put(lab, table, "kept")
    fn = _function(lab, "trimfn")
    _mapping(lab, arn, fn)
    assert keys(delivered(recorder, fn, 1)) == ["kept"]


# -- at most 1,000 records and 1 MB per GetRecords ----------------------------------------


def test_get_records_refuses_a_limit_above_1000_as_aws_does(lab: Lab, clock: FakeClock) -> None:
    """AWS's API reference lists a Limit above 1000 under LimitExceededException."""
    table = unique(lab, "Limit")
    arn = stream_table(lab, table)
    it = iterator(lab, arn)
    code, message = error_of(lambda: lab.dynamodbstreams.get_records(ShardIterator=it, Limit=1001))
    assert (code, message) == ("LimitExceededException", moto_patches.LIMIT_ABOVE_1000)
    assert lab.dynamodbstreams.get_records(ShardIterator=it, Limit=1000)["Records"] == []


def test_get_records_returns_at_most_1000_records(lab: Lab, clock: FakeClock) -> None:
    table = unique(lab, "Thousand")
    arn = stream_table(lab, table, view="KEYS_ONLY")
    tables.put_items(lab, table, ({"id": f"k{n:04d}"} for n in range(1005)))
    page = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, arn))
    assert len(page["Records"]) == 1000
    rest = lab.dynamodbstreams.get_records(ShardIterator=page["NextShardIterator"])
    assert len(rest["Records"]) == 5


def test_get_records_returns_at_most_1_mb(lab: Lab, clock: FakeClock) -> None:
    table = unique(lab, "Megabyte")
    arn = stream_table(lab, table, view="NEW_IMAGE")
    blob = "x" * 300_000  # four records of 300 KB: 1.2 MB in all
    for n in range(4):
        put(lab, table, f"big{n}", blob={"S": blob})
    page = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, arn))
    assert len(page["Records"]) == 3
    rest = lab.dynamodbstreams.get_records(ShardIterator=page["NextShardIterator"])
    assert keys(rest["Records"]) == ["big3"]


# -- disabling and enabling again: a new stream, the old one readable for 24 hours -------


def set_stream(lab: Lab, table: str, enabled: bool) -> None:
    spec = {"StreamEnabled": enabled}
    if enabled:
        spec["StreamViewType"] = "KEYS_ONLY"  # the only way to change the view type
    lab.dynamodb.update_table(TableName=table, StreamSpecification=spec)


def test_enabling_a_stream_again_gives_a_new_arn_and_the_old_stays_readable_a_day(
    lab: Lab, clock: FakeClock
) -> None:
    table = unique(lab, "Again")
    old_arn = stream_table(lab, table)
    put(lab, table, "before")
    set_stream(lab, table, False)
    set_stream(lab, table, True)
    new_arn = lab.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert new_arn != old_arn
    put(lab, table, "after")

    old = lab.dynamodbstreams.describe_stream(StreamArn=old_arn)["StreamDescription"]
    assert old["StreamStatus"] == "DISABLED"
    assert old["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert old["StreamLabel"] == old_arn.rsplit("/", 1)[-1]
    assert "EndingSequenceNumber" in old["Shards"][0]["SequenceNumberRange"]  # closed
    page = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, old_arn))
    assert keys(page["Records"]) == ["before"]  # only the old stream's records
    new = lab.dynamodbstreams.describe_stream(StreamArn=new_arn)["StreamDescription"]
    assert (new["StreamStatus"], new["StreamViewType"]) == ("ENABLED", "KEYS_ONLY")
    page = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, new_arn))
    assert keys(page["Records"]) == ["after"]

    clock.now += 24 * 3600  # a day after it was disabled, the old stream is gone
    code, _ = error_of(lambda: lab.dynamodbstreams.describe_stream(StreamArn=old_arn))
    assert code == "ResourceNotFoundException"
    assert lab.dynamodbstreams.describe_stream(StreamArn=new_arn)["StreamDescription"]


def test_a_deleted_tables_stream_stays_readable_disabled_for_24_hours(
    lab: Lab, clock: FakeClock
) -> None:
    table = unique(lab, "Deleted")
    arn = stream_table(lab, table)
    put(lab, table, "last")
    lab.dynamodb.delete_table(TableName=table)
    described = lab.dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert described["StreamStatus"] == "DISABLED"
    page = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, arn))
    assert keys(page["Records"]) == ["last"]
    clock.now += 24 * 3600
    code, _ = error_of(lambda: lab.dynamodbstreams.describe_stream(StreamArn=arn))
    assert code == "ResourceNotFoundException"


def test_a_mapping_on_the_old_arn_finishes_the_old_stream_and_never_reads_the_new(
    inprocess_emulator: InProcess, recorder: Recorder, clock: FakeClock
) -> None:
    """Lambda: a mapping names one stream; to read the new one, create a new mapping."""
    lab = inprocess_emulator.lab
    table = unique(lab, "OldMap")
    old_arn = stream_table(lab, table)
    fn = _function(lab, "oldfn")
    uuid = _mapping(lab, old_arn, fn, Enabled=False)
    put(lab, table, "before")
    set_stream(lab, table, False)
    set_stream(lab, table, True)
    put(lab, table, "after")
    lab.lambda_.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert keys(delivered(recorder, fn, 1)) == ["before"]  # the old stream is still readable
    put(lab, table, "later")
    assert keys(delivered(recorder, fn, 2, timeout=1.0)) == ["before"]  # the new stream's: never


# -- Time to Live -------------------------------------------------------------------------


def test_ttl_deletes_expired_items_with_the_service_identity_in_the_stream(
    lab: Lab, clock: FakeClock
) -> None:
    table = unique(lab, "Ttl")
    arn = _ttl_table(lab, table)
    put(lab, table, "past", expires={"N": "1000"})
    put(lab, table, "future", expires={"N": "4000000000"})
    put(lab, table, "text", expires={"S": "1000"})  # not a number: never expires
    put(lab, table, "none")
    lab.dynamodb.delete_item(TableName=table, Key={"id": {"S": "none"}})  # a user's delete

    deleted = tables.expire_ttl_items(lab, table)

    assert deleted == [{"id": {"S": "past"}}]
    left = {item["id"] for item in tables.scan_all(lab, table)}
    assert left == {"future", "text"}
    records = lab.dynamodbstreams.get_records(ShardIterator=iterator(lab, arn))["Records"]
    removes = {keys([r])[0]: r for r in records if r["eventName"] == "REMOVE"}
    assert removes["past"]["userIdentity"] == {
        "PrincipalId": "dynamodb.amazonaws.com",
        "Type": "Service",
    }
    assert "userIdentity" not in removes["none"]  # only TTL deletions carry it
    assert removes["past"]["dynamodb"]["OldImage"]["expires"] == {"N": "1000"}


def test_ttl_deletions_reach_lambda_with_the_event_spelling(
    inprocess_emulator: InProcess, recorder: Recorder, clock: FakeClock
) -> None:
    lab = inprocess_emulator.lab
    table = unique(lab, "TtlMap")
    arn = _ttl_table(lab, table)
    put(lab, table, "past", expires={"N": "1000"})
    fn = _function(lab, "ttlfn")
    _mapping(lab, arn, fn)
    tables.expire_ttl_items(lab, table)
    records = delivered(recorder, fn, 2)
    assert records[1]["eventName"] == "REMOVE"
    service = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert records[1]["userIdentity"] == service
    assert "userIdentity" not in records[0]


def test_ttl_is_refused_without_the_owners_signature(lab: Lab) -> None:
    import urllib.error
    import urllib.request

    from streamlab.local.ttl import TTL_PATH

    request = urllib.request.Request(
        lab.endpoint + TTL_PATH, data=b'{"TableName": "x", "Region": "us-east-1"}', method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10)
    assert refused.value.code == 403


def test_expired_iterators_are_forgotten_so_a_long_session_does_not_grow(
    inprocess_emulator: InProcess, clock: FakeClock
) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    lab = inprocess_emulator.lab
    table = unique(lab, "Sweep")
    arn = stream_table(lab, table)
    it = iterator(lab, arn)
    calls = 3 * moto_patches.SWEEP_EVERY
    for _ in range(calls):  # a viewer polling, each answer a new iterator
        it = lab.dynamodbstreams.get_records(ShardIterator=it)["NextShardIterator"]
        clock.now += 10
    from streamlab.local.iam.moto_state import ACCOUNT_ID

    backend = dynamodbstreams_backends[ACCOUNT_ID][lab.region]
    alive = [
        key for key, kept in backend.shard_iterators.items()
        if getattr(kept.stream_shard, "stream", None) is not None
        and kept.stream_shard.stream.stream_arn == arn
    ]
    # the last 15 minutes' worth, and what came since the last sweep; without sweeps: all
    assert len(alive) <= 15 * 60 / 10 + moto_patches.SWEEP_EVERY + 2 < calls
    assert lab.dynamodbstreams.get_records(ShardIterator=it)["Records"] == []


def test_ttl_is_refused_to_a_functions_keys(lab: Lab) -> None:
    """Only the owner's notebook keys run TTL: function code (or a participant) must not
    delete items past IAM."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from streamlab.local.identities import issued
    from streamlab.local.ttl import TTL_PATH

    keys = issued().function
    body = b'{"TableName": "x", "Region": "us-east-1"}'
    request = AWSRequest(method="POST", url=lab.endpoint + TTL_PATH, data=body)
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "streamlab", "us-east-1").add_auth(
        request
    )
    prepared = urllib.request.Request(
        request.url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(prepared, timeout=10)
    assert refused.value.code == 403
