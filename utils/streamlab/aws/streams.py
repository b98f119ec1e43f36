"""DynamoDB Streams for the labs: enable, find shards, read records, see what changed.

A stream is split into shards; each shard is an ordered log with its own
iterators. Reading "the stream" therefore means reading every shard, parents
before children, from a chosen position. These helpers do that with the
low-level ``dynamodbstreams`` client and return the records exactly as AWS
shapes them (typed images), so a learner can compare them with raw
``get_records`` output; ``decode`` and ``image_changes`` turn them into plain
Python for people.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from streamlab.aws import tables
from streamlab.aws.session import Lab
from streamlab.aws.waiting import Wait
from streamlab.errors import LabError

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


def _check_view_type(view_type: str) -> None:
    if view_type not in VIEW_TYPES:
        raise LabError(
            f"{view_type!r} is not a stream view type: use one of {', '.join(VIEW_TYPES)}."
        )


def stream_specification(lab: Lab, table: str) -> dict[str, Any]:
    """The table's ``StreamSpecification`` (``{}`` when it never had a stream)."""
    description = tables.describe(lab, table)
    if description is None:
        raise LabError(f"There is no table {table!r}: create it first (tables.create_table).")
    return description.get("StreamSpecification") or {}


def stream_arn(lab: Lab, table: str) -> str | None:
    """The ARN of the table's enabled stream, or None when streams are off."""
    description = tables.describe(lab, table)
    if description is None:
        raise LabError(f"There is no table {table!r}: create it first (tables.create_table).")
    if not (description.get("StreamSpecification") or {}).get("StreamEnabled"):
        return None
    return description.get("LatestStreamArn")


def enable_stream(lab: Lab, table: str, view_type: str = "NEW_AND_OLD_IMAGES") -> str:
    """Turn the stream on (a no-op when it is already on with ``view_type``); return its ARN."""
    _check_view_type(view_type)
    current = stream_specification(lab, table)
    if current.get("StreamEnabled"):
        if current.get("StreamViewType") != view_type:
            raise LabError(
                f"{table} already streams {current.get('StreamViewType')}; a view type cannot "
                f"change: disable_stream(lab, {table!r}) first, then enable {view_type}."
            )
    else:
        lab.dynamodb.update_table(
            TableName=table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
        )
        tables.wait_until_active(lab, table)
    arn = stream_arn(lab, table)
    assert arn is not None
    wait_until_enabled(lab, arn)
    return arn


def wait_until_enabled(lab: Lab, arn: str, timeout: float = 120.0) -> None:
    """Wait until the stream is ENABLED: on AWS it is ENABLING for a few seconds after
    the table turns it on, and writes made meanwhile may not be recorded."""
    aws = lab.backend == "aws"
    wait = Wait(
        "the stream to be ENABLED",
        timeout,
        "DynamoDB has not finished turning the stream on; run the cell again in a minute.",
        interval=2.0 if aws else 0.05,
        max_interval=5.0 if aws else 0.05,
        backoff=1.3,
        jitter=0.2 if aws else 0.0,  # DescribeStream: 10 calls/s for the whole account
    )
    while True:
        status = wait.look(
            lambda: lab.dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"].get(
                "StreamStatus", "ENABLED"
            )
        )
        if status == "ENABLED":
            wait.done()
            return
        wait.pause(f"still {status}" if status else "throttled")


def disable_stream(lab: Lab, table: str) -> bool:
    """Turn the stream off; say whether it was on. Its records stay readable for 24 h on AWS."""
    if not stream_specification(lab, table).get("StreamEnabled"):
        return False
    lab.dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    tables.wait_until_active(lab, table)
    return True


def list_shards(lab: Lab, arn: str) -> list[dict[str, Any]]:
    """Every shard of the stream (following pagination), parents before their children."""
    shards: list[dict[str, Any]] = []
    request: dict[str, Any] = {"StreamArn": arn}
    while True:
        description = lab.dynamodbstreams.describe_stream(**request)["StreamDescription"]
        shards.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        request["ExclusiveStartShardId"] = last
    return _parents_first(shards)


def _parents_first(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {shard["ShardId"]: shard for shard in shards}
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(shard: dict[str, Any]) -> None:
        if shard["ShardId"] in seen:
            return
        seen.add(shard["ShardId"])
        parent = by_id.get(shard.get("ParentShardId", ""))
        if parent:
            visit(parent)
        ordered.append(shard)

    for shard in shards:
        visit(shard)
    return ordered


def _in_shard(shard: Mapping[str, Any], sequence_number: int) -> bool:
    numbers = shard.get("SequenceNumberRange", {})
    start = int(numbers.get("StartingSequenceNumber", 0))
    end = numbers.get("EndingSequenceNumber")
    return start <= sequence_number and (end is None or sequence_number <= int(end))


def _iterator_request(
    arn: str, shard: Mapping[str, Any], position: str, sequence_number: int | None
) -> dict[str, Any] | None:
    """How to start reading ``shard``; None when the shard ends before the position."""
    request = {"StreamArn": arn, "ShardId": shard["ShardId"]}
    if position in ("TRIM_HORIZON", "LATEST"):
        return {**request, "ShardIteratorType": position}
    assert sequence_number is not None
    if _in_shard(shard, sequence_number):
        return {**request, "ShardIteratorType": position, "SequenceNumber": str(sequence_number)}
    end = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
    if end is not None and int(end) < sequence_number:
        return None  # the whole shard is older than the position
    return {**request, "ShardIteratorType": "TRIM_HORIZON"}


def _after_position(record: Mapping[str, Any], position: str, sequence_number: int | None) -> bool:
    if sequence_number is None:
        return True
    number = int(record["dynamodb"]["SequenceNumber"])
    if position == "AFTER_SEQUENCE_NUMBER":
        return number > sequence_number
    return number >= sequence_number


def read_shard(lab: Lab, iterator: str, *, max_empty_reads: int = 1) -> Iterator[dict[str, Any]]:
    """Records from one shard iterator until the shard ends or reads come back empty.

    An open shard never "ends"; an empty answer means "nothing more for now".
    On AWS an empty answer can also come before records, hence ``max_empty_reads``.
    """
    empty = 0
    while iterator:
        response = lab.dynamodbstreams.get_records(ShardIterator=iterator)
        records = response.get("Records", [])
        yield from records
        iterator = response.get("NextShardIterator")
        empty = 0 if records else empty + 1
        if empty >= max_empty_reads:
            break


def read_records(
    lab: Lab,
    arn: str,
    *,
    position: str = "TRIM_HORIZON",
    sequence_number: str | int | None = None,
    max_empty_reads: int | None = None,
    at_least: int = 0,
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """Every record of every shard from ``position``, shard by shard (parents first).

    ``TRIM_HORIZON`` reads from the oldest record kept (24 h on AWS), ``LATEST``
    only what arrives after the call. ``AT_SEQUENCE_NUMBER`` /
    ``AFTER_SEQUENCE_NUMBER`` start at that record in its shard, and take the
    other shards' records that are not older.

    Records reach a stream asynchronously (on AWS in near-real time, with no
    latency promised), so ``at_least=N`` reads again until N records are there, or fails
    after ``timeout`` seconds saying how many arrived.
    """
    if position not in POSITIONS:
        raise LabError(f"{position!r} is not a stream position: use one of {', '.join(POSITIONS)}.")
    number: int | None = None
    if position in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if sequence_number is None:
            raise LabError(f"{position} needs sequence_number=<a record's SequenceNumber>.")
        number = int(sequence_number)
    if position == "LATEST" and at_least:
        raise LabError(
            "LATEST sees only records written after the call: use TRIM_HORIZON, "
            "or a StreamFollower to wait for new records."
        )
    if max_empty_reads is None:
        max_empty_reads = 3 if lab.backend == "aws" else 1
    aws = lab.backend == "aws"
    wait = Wait(
        f"{at_least} stream record(s)",
        timeout,
        "were the writes made after the stream was turned on?",
        interval=1.0 if aws else 0.05,
        max_interval=4.0 if aws else 0.05,
        backoff=1.5,
        jitter=0.2 if aws else 0.0,
    )
    while True:
        records = wait.look(lambda: _read_once(lab, arn, position, number, max_empty_reads))
        if records is not None and len(records) >= at_least:
            wait.done()
            return records
        if records is not None and wait.remaining() <= 0:
            raise LabError(
                f"Only {len(records)} of the {at_least} expected stream records arrived within "
                f"{timeout:.0f} s: were the writes made after the stream was turned on?"
            )
        wait.pause("throttled" if records is None else f"{len(records)} so far")


def _read_once(
    lab: Lab, arn: str, position: str, number: int | None, max_empty_reads: int
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for shard in list_shards(lab, arn):
        request = _iterator_request(arn, shard, position, number)
        if request is None:
            continue
        iterator = lab.dynamodbstreams.get_shard_iterator(**request)["ShardIterator"]
        for record in read_shard(lab, iterator, max_empty_reads=max_empty_reads):
            if _after_position(record, position, number):
                records.append(record)
    return records


def read_range(
    lab: Lab, arn: str, shard_id: str, first: str | int, last: str | int
) -> list[dict[str, Any]]:
    """The records of one shard numbered ``first`` to ``last`` (what an on-failure message's
    ``DDBStreamBatchInfo`` describes). Sequence numbers order records within a shard only."""
    iterator: str | None = lab.dynamodbstreams.get_shard_iterator(
        StreamArn=arn,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(first),
    )["ShardIterator"]
    end = int(last)
    records: list[dict[str, Any]] = []
    empty = 0
    max_empty = 3 if lab.backend == "aws" else 1
    while iterator and empty < max_empty:
        page = lab.dynamodbstreams.get_records(ShardIterator=iterator)
        for record in page.get("Records", []):
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            records.append(record)
        empty = 0 if page.get("Records") else empty + 1
        iterator = page.get("NextShardIterator")
    return records


# -- for people ----------------------------------------------------------------------

_MISSING = object()


def image_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """``{attribute: (before, after)}`` for what differs; None stands for "absent".

    Takes plain images (see ``decode``) and works for INSERT (no old image) and
    REMOVE (no new image) too.
    """
    old = old or {}
    new = new or {}
    changes: dict[str, tuple[Any, Any]] = {}
    for name in [*old, *(n for n in new if n not in old)]:
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        if before != after:
            changes[name] = (
                None if before is _MISSING else before,
                None if after is _MISSING else after,
            )
    return changes


@dataclass(frozen=True)
class Change:
    """A stream record for people: plain keys and images, and what changed."""

    event: str
    sequence_number: str
    keys: dict[str, Any]
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        return image_changes(self.old, self.new)

    def what_changed(self) -> str:
        """``PlayerName Alice -> Alison``; a new or deleted item's attributes; keys only."""
        if self.old is None and self.new is None:
            return "(keys only)"

        def listed(image: Mapping[str, Any]) -> str:
            return ", ".join(
                f"{name}={tables.format_value(value)}"
                for name, value in image.items()
                if name not in self.keys
            )

        if self.old is None:
            return f"new item: {listed(self.new or {})}"
        if self.new is None:
            return f"deleted item: {listed(self.old)}"
        parts = []
        for name, (before, after) in self.changes.items():
            if name in self.keys:
                continue
            if name not in self.old:
                parts.append(f"{name} added: {tables.format_value(after)}")
            elif name not in self.new:
                parts.append(f"{name} removed (was {tables.format_value(before)})")
            else:
                was, now = tables.format_value(before), tables.format_value(after)
                parts.append(f"{name} {was} -> {now}")
        return "; ".join(parts) if parts else "(nothing)"

    def summary(self) -> str:
        """``MODIFY RecordID=1: PlayerName Alice -> Alison``."""
        key = ", ".join(f"{k}={tables.format_value(v)}" for k, v in self.keys.items())
        return f"{self.event} {key}: {self.what_changed()}"


def decode(record: Mapping[str, Any]) -> Change:
    """A raw stream record as a ``Change`` with plain values."""
    data = record["dynamodb"]
    return Change(
        event=record["eventName"],
        sequence_number=data["SequenceNumber"],
        keys=tables.to_plain(data.get("Keys", {})) or {},
        old=tables.to_plain(data.get("OldImage")),
        new=tables.to_plain(data.get("NewImage")),
    )


class StreamFollower:
    """Reads a stream incrementally: each ``poll`` returns only records not seen before.

    It keeps one iterator per shard, picks up shards that appear later (from
    TRIM_HORIZON, so none of their records are missed) and drops shards that
    have ended. A child shard is read only once its parent has ended, so one
    item's records come in order across a rollover. The live stream viewer
    polls with it.

    DescribeStream is limited to 10 calls a second per account on AWS, shared by
    a whole room, so on AWS the shard list is read again only when a shard has
    ended (its children appear then) or every ``rediscover_seconds``; GetRecords
    carries the polling. Locally every poll looks (it costs nothing).

    An iterator lives 15 minutes (AWS, and the emulator): a follower left idle
    longer (a lab left open over lunch) gets a fresh iterator after the last
    record it read, so nothing is read twice or skipped; a shard it never read
    from starts again at its first position. A position trimmed meanwhile (24
    hours) starts again at the oldest record left.
    """

    def __init__(
        self,
        lab: Lab,
        arn: str,
        *,
        position: str = "TRIM_HORIZON",
        rediscover_seconds: float | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        if position not in ("TRIM_HORIZON", "LATEST"):
            raise LabError("A follower starts at TRIM_HORIZON or LATEST.")
        self.lab = lab
        self.arn = arn
        self.position = position
        if rediscover_seconds is None:
            rediscover_seconds = 60.0 if lab.backend == "aws" else 0.0
        self.rediscover_seconds = rediscover_seconds
        self._clock = clock
        self._iterators: dict[str, str | None] = {}  # None: the shard has ended
        self._last_read: dict[str, str] = {}  # shard -> sequence number of the last record read
        self._first_kind: dict[str, str] = {}  # shard -> where its first iterator started
        self._parents: dict[str, str | None] = {}
        self._started = False
        self._discovered_at: float | None = None
        self._shard_ended = False
        # read, not yet returned (a later shard's call failed): nothing is lost
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self.describe_calls = 0

    def _discovery_due(self) -> bool:
        if self._discovered_at is None or self._shard_ended:
            return True
        return self._clock() - self._discovered_at >= self.rediscover_seconds

    def _discover(self) -> None:
        if not self._discovery_due():
            return
        self.describe_calls += 1
        for shard in list_shards(self.lab, self.arn):
            shard_id = shard["ShardId"]
            if shard_id in self._iterators:
                continue
            kind = self.position if not self._started else "TRIM_HORIZON"
            self._first_kind[shard_id] = kind
            self._parents[shard_id] = shard.get("ParentShardId")
            self._iterators[shard_id] = self.lab.dynamodbstreams.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard_id, ShardIteratorType=kind
            )["ShardIterator"]
        self._started = True
        self._discovered_at = self._clock()
        self._shard_ended = False

    def _waiting_for_parent(self, shard_id: str) -> bool:
        parent = self._parents.get(shard_id)
        return parent is not None and self._iterators.get(parent) is not None

    @property
    def shard_ids(self) -> list[str]:
        """Every shard seen so far, in the order found (parents before their children)."""
        return list(self._iterators)

    def poll_by_shard(self) -> list[tuple[str, dict[str, Any]]]:
        """Like ``poll``, each record with the id of the shard it came from.

        A call that fails (a throttle) loses nothing: records already read from
        other shards are returned by the next successful poll.
        """
        self._discover()
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None or self._waiting_for_parent(shard_id):
                continue
            response = self._get_records(shard_id, iterator)
            self._pending.extend((shard_id, record) for record in response.get("Records", []))
            if response.get("Records"):
                self._last_read[shard_id] = response["Records"][-1]["dynamodb"]["SequenceNumber"]
            self._iterators[shard_id] = response.get("NextShardIterator")
            if self._iterators[shard_id] is None:
                self._shard_ended = True  # its children (if any) are found on the next poll
        records, self._pending = self._pending, []
        return records

    def _get_records(self, shard_id: str, iterator: str) -> dict[str, Any]:
        """GetRecords, with a fresh iterator when this one expired or its position was trimmed."""
        client = self.lab.dynamodbstreams
        try:
            return client.get_records(ShardIterator=iterator)
        except client.exceptions.ExpiredIteratorException:
            last = self._last_read.get(shard_id)
            request: dict[str, Any] = {"StreamArn": self.arn, "ShardId": shard_id}
            if last is None:
                request["ShardIteratorType"] = self._first_kind.get(shard_id, "TRIM_HORIZON")
            else:
                request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=last)
            try:
                fresh = client.get_shard_iterator(**request)["ShardIterator"]
            except client.exceptions.TrimmedDataAccessException:
                fresh = self._trim_horizon(shard_id)
        except client.exceptions.TrimmedDataAccessException:
            fresh = self._trim_horizon(shard_id)
        return client.get_records(ShardIterator=fresh)

    def _trim_horizon(self, shard_id: str) -> str:
        return self.lab.dynamodbstreams.get_shard_iterator(
            StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def poll(self) -> list[dict[str, Any]]:
        """The records that arrived since the last poll, shard by shard, parents first."""
        return [record for _shard, record in self.poll_by_shard()]
