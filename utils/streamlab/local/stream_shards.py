"""Several shards per stream, shards that close and roll over, as AWS's streams have.

moto keeps one shard per stream (``table.stream_shard``). A new on-demand table
on AWS streams into several shards, each item's records into one shard chosen
by its partition key, and every shard closes after a while (about four hours,
or as the table grows) and rolls over into a child shard that names it in
``ParentShardId``. Code that reads only the first shard, or reads a child
before its parent, works against moto and fails on AWS; here it fails locally.

The correction sits at moto's boundary: ``ShardedStream`` takes the place of
``table.stream_shard`` (moto calls only its ``add``), and holds moto's own
``StreamShard`` objects, one per shard, each with AWS-shaped ids and sequence
numbers. ``moto_patches`` installs it and teaches moto's DescribeStream,
GetShardIterator and GetRecords about it. How many shards and when they roll
over is a ``ShardPolicy``: the default local mode has several shards and no
rollover; tests and the aws profile turn rollover on.

The stream's documented limits hold in every profile (the policy's clock and
figures; the aws profile scales the times): a shard iterator expires 15 minutes
after it was handed out (``ExpiredIteratorException``), a record is trimmed 24
hours after it was written (reading at a trimmed position is a
``TrimmedDataAccessException``), a GetRecords answer holds at most 1,000 records
and 1 MB, and a disabled stream stays readable for 24 hours, also after the
table's stream was enabled again under a new ARN or the table was deleted
(``retire``). Trimmed records
keep their place in the shard's list (pollers address records by position);
only the trim point moves.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models.table import StreamRecord, StreamShard

DEFAULT_SHARDS = 4
ITERATOR_SECONDS = 15 * 60.0  # a shard iterator expires 15 minutes after GetShardIterator
RETENTION_SECONDS = 24 * 3600.0  # stream records are trimmed after 24 hours
GET_RECORDS_MAX_RECORDS = 1000  # at most 1,000 records ...
GET_RECORDS_MAX_BYTES = 1024 * 1024  # ... and 1 MB per GetRecords answer
#: the identity a record of a Time to Live deletion carries (GetRecords' shape)
TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


@dataclass(frozen=True)
class ShardPolicy:
    """How a new stream is split and when its shards close.

    ``rollover_records``: a shard closes once it holds this many records (the
    next record of its keys opens a child). ``rollover_seconds``: a shard
    closes this long after it opened (AWS: about four hours). ``None`` turns a
    rule off. ``iterator_seconds``: a shard iterator's life (AWS: 15 minutes);
    ``retention_seconds``: how long a record, and a disabled stream, stay
    readable (AWS: 24 hours); ``None`` keeps them forever. ``clock`` is
    injectable so tests never depend on wall-clock time.

    The default local mode is ``ShardPolicy()``: several shards, no rollover.
    An AWS-like profile passes AWS's timing, e.g.
    ``ShardPolicy(rollover_seconds=4 * 3600 * time_scale)``, to ``server.build_app``
    (or ``configure``); ``streamlab serve`` takes ``--stream-shards``,
    ``--shard-rollover-records`` and ``--shard-rollover-seconds``.
    """

    shards: int = DEFAULT_SHARDS
    rollover_records: int | None = None
    rollover_seconds: float | None = None
    iterator_seconds: float | None = ITERATOR_SECONDS
    retention_seconds: float | None = RETENTION_SECONDS
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError("a stream needs at least one shard")
        if self.rollover_records is not None and self.rollover_records < 1:
            raise ValueError("rollover_records must be at least 1")
        for name in ("rollover_seconds", "iterator_seconds", "retention_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")


_policy = ShardPolicy()
_policy_lock = threading.Lock()


def configure(policy: ShardPolicy) -> ShardPolicy:
    """Use ``policy`` for streams enabled from now on; return the previous policy."""
    global _policy
    with _policy_lock:
        previous, _policy = _policy, policy
    return previous


def current_policy() -> ShardPolicy:
    return _policy


def event_id(stream_arn: str, sequence_number: str) -> str:
    """A record's ``eventID``: 32 lowercase hex, the same in GetRecords and in every delivery
    to Lambda (retries keep ids), as on AWS."""
    return hashlib.md5(f"{stream_arn}#{sequence_number}".encode()).hexdigest()


def partition_hash(table: Any, item: Any) -> int:
    """A stable hash of the item's partition key: its records all go to one shard lineage."""
    value = item.hash_key.to_json()
    canonical = json.dumps({table.hash_key_attr: value}, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.md5(canonical.encode()).digest()[:8], "big")


class LabShard(StreamShard):
    """One of a stream's shards: moto's shard with a parent, an end, and sparse numbers.

    Sequence numbers grow across the whole stream (as AWS's do), so within one
    shard they have gaps; ``get`` finds records by number instead of moto's
    "number minus start" index.
    """

    def __init__(
        self,
        stream: ShardedStream,
        *,
        shard_id: str,
        starting_sequence_number: int,
        slot: int,
        parent_shard_id: str | None,
    ) -> None:
        super().__init__(stream.table.account_id, stream.table)
        self.stream = stream
        self.id = shard_id
        self.starting_sequence_number = starting_sequence_number
        self.slot = slot
        self.parent_shard_id = parent_shard_id
        self.ending_sequence_number: int | None = None
        self.opened_at = stream.policy.clock()
        self.numbers: list[int] = []  # parallel to ``items``, ascending
        self.written_at: list[float] = []  # parallel to ``items``: the policy's clock

    @property
    def closed(self) -> bool:
        return self.ending_sequence_number is not None

    def to_json(self) -> dict[str, Any]:
        numbers = {"StartingSequenceNumber": str(self.starting_sequence_number)}
        if self.ending_sequence_number is not None:
            numbers["EndingSequenceNumber"] = str(self.ending_sequence_number)
        shard: dict[str, Any] = {"ShardId": self.id, "SequenceNumberRange": numbers}
        if self.parent_shard_id:
            shard["ParentShardId"] = self.parent_shard_id
        return shard

    def append(self, record: StreamRecord, number: int) -> None:
        self.items.append(record)
        self.numbers.append(number)
        self.written_at.append(self.stream.policy.clock())

    def get(self, start: int, quantity: int) -> list[dict[str, Any]]:
        """Up to ``quantity`` records numbered ``start`` or more, at most 1 MB in all (AWS's
        GetRecords limits; one record always fits, as an item is at most 400 KB)."""
        first = bisect.bisect_left(self.numbers, start)
        records: list[dict[str, Any]] = []
        size = 0
        for item in self.items[first : first + min(quantity, GET_RECORDS_MAX_RECORDS)]:
            record = item.to_json()
            size += record_size(record)
            if records and size > GET_RECORDS_MAX_BYTES:
                break
            records.append(record)
        return records

    def trimmed(self) -> int:
        """How many of the shard's records are older than the retention period (trimmed)."""
        retention = self.stream.policy.retention_seconds
        if retention is None:
            return 0
        return bisect.bisect_right(self.written_at, self.stream.policy.clock() - retention)

    def trim_horizon(self) -> int:
        """The sequence number a TRIM_HORIZON iterator starts at: the oldest kept record."""
        trimmed = self.trimmed()
        if trimmed == 0:
            return self.starting_sequence_number
        if trimmed < len(self.numbers):
            return self.numbers[trimmed]
        return self.numbers[-1] + 1

    def is_trimmed_at(self, sequence_number: int) -> bool:
        """True when a read from ``sequence_number`` would start at a trimmed record."""
        return self.position_of(sequence_number) < self.trimmed()

    def position_of(self, sequence_number: int) -> int:
        """Index of the first record numbered ``sequence_number`` or more."""
        return bisect.bisect_left(self.numbers, sequence_number)

    def latest_sequence_number(self) -> int:
        """Where a LATEST iterator starts: after every record written so far."""
        return self.stream.next_number

    def exhausted_from(self, sequence_number: int) -> bool:
        """True when the shard is closed and holds nothing numbered ``sequence_number`` or more."""
        return self.closed and self.position_of(sequence_number) >= len(self.items)


def record_size(record: dict[str, Any]) -> int:
    """A record's size as it travels in a GetRecords answer (JSON bytes)."""
    return len(json.dumps(record, default=str, separators=(",", ":")).encode())


Notify = Callable[[LabShard], None]


class ShardedStream:
    """A table's stream: several shard lineages, each key's records in one of them.

    Slot ``k`` (a lineage) holds at most one open shard; keys hash to slots, so
    one key's records are in one lineage, in order, parents before children.
    """

    def __init__(self, table: Any, policy: ShardPolicy, notify: Notify) -> None:
        self.table = table
        self.policy = policy
        self.notify = notify
        self.account_id = table.account_id
        self.created_on = _moto_now()
        created_ms = int(time.time() * 1000)
        self._tag = hashlib.md5(f"{table.table_arn}/{table.latest_stream_label}".encode())
        # 21 digits, like AWS's; a new stream starts above an older one's numbers.
        self.next_number = 10**20 + created_ms * 1000
        self._created_ms = created_ms
        self.label = table.latest_stream_label
        self.stream_arn = f"{table.table_arn}/stream/{self.label}"
        self.view_type = (table.stream_specification or {}).get("StreamViewType")
        self.disabled_at: float | None = None  # the policy's clock when it was disabled
        self.removal_identity: dict[str, str] | None = None  # set while TTL deletes items
        self.shards: list[LabShard] = []
        self.open: list[LabShard] = [self._new_shard(slot, None) for slot in range(policy.shards)]

    # -- what moto calls ---------------------------------------------------------------
    @property
    def id(self) -> str:  # moto's own code reads the first shard's id in places
        return self.open[0].id

    def to_json(self) -> dict[str, Any]:  # moto's DescribeStream, before we list every shard
        return self.shards[0].to_json()

    @property
    def items(self) -> list[StreamRecord]:
        return [item for shard in self.shards for item in shard.items]

    def add(self, old: Any, new: Any) -> None:
        """Append the record of one write to its key's open shard (moto calls this)."""
        if old is not None and new is not None and old.to_json() == new.to_json():
            return  # AWS: a write that does not change the item writes no stream record
        if not (self.table.stream_specification or {}).get("StreamEnabled"):
            return  # a disabled stream records nothing (moto keeps the old stream attached)
        view_type = self.table.stream_specification["StreamViewType"]
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        self.roll_over_due()
        slot = partition_hash(self.table, old if old is not None else new) % len(self.open)
        shard = self.open[slot]
        number = self._take_number()
        record = StreamRecord(self.table, view_type, event_name, old, new, number)
        record.record["eventID"] = event_id(self.stream_arn, str(number))  # moto's is random
        if event_name == "REMOVE" and self.removal_identity is not None:
            record.record["userIdentity"] = dict(self.removal_identity)  # a TTL deletion
        shard.append(record, number)
        limit = self.policy.rollover_records
        if limit is not None and len(shard.items) >= limit:
            self._roll_over(slot)
        self.notify(shard)

    # -- shards --------------------------------------------------------------------------
    def describe_shards(self) -> list[dict[str, Any]]:
        self.roll_over_due()
        return [shard.to_json() for shard in self.shards]

    def shard(self, shard_id: str) -> LabShard | None:
        for shard in self.shards:
            if shard.id == shard_id:
                return shard
        return None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def readable(self) -> bool:
        """A disabled stream stays readable for the retention period (AWS: 24 hours)."""
        retention = self.policy.retention_seconds
        if self.disabled_at is None or retention is None:
            return True
        return self.policy.clock() - self.disabled_at < retention

    def close_all(self) -> None:
        """The stream was disabled: every open shard ends (its records stay readable)."""
        if self.disabled_at is None:
            self.disabled_at = self.policy.clock()
        for shard in self.open:
            if not shard.closed:
                shard.ending_sequence_number = max(
                    shard.numbers[-1] if shard.numbers else shard.starting_sequence_number,
                    shard.starting_sequence_number,
                )

    def roll_over_due(self) -> None:
        """Close every open shard older than the policy allows (checked lazily, on use)."""
        seconds = self.policy.rollover_seconds
        if seconds is None or not self.enabled:
            return
        if not (self.table.stream_specification or {}).get("StreamEnabled"):
            return
        now = self.policy.clock()
        for slot, shard in enumerate(self.open):
            if now - shard.opened_at >= seconds:
                self._roll_over(slot)

    def _roll_over(self, slot: int) -> None:
        parent = self.open[slot]
        parent.ending_sequence_number = max(
            parent.numbers[-1] if parent.numbers else parent.starting_sequence_number,
            parent.starting_sequence_number,
        )
        self.open[slot] = self._new_shard(slot, parent.id)

    def _take_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    def _new_shard(self, slot: int, parent_id: str | None) -> LabShard:
        serial = len(self.shards)
        digest = self._tag.copy()
        digest.update(str(serial).encode())
        # AWS's shape: shardId-<20 digits>-<8 hex>
        shard_id = f"shardId-{self._created_ms + serial:020d}-{digest.hexdigest()[:8]}"
        start = self._take_number()  # AWS: a child's numbers start above its parent's end
        shard = LabShard(
            self, shard_id=shard_id, starting_sequence_number=start, slot=slot,
            parent_shard_id=parent_id,
        )
        self.shards.append(shard)
        return shard


_retired: dict[str, ShardedStream] = {}  # stream ARN -> a stream no longer the table's own
_retired_lock = threading.Lock()


def retire(stream: ShardedStream) -> None:
    """Keep a stream readable by its own ARN once it is no longer its table's current stream
    (enabled again under a new ARN, or its table deleted): closed, for the retention period."""
    stream.close_all()
    with _retired_lock:
        _retired[stream.stream_arn] = stream
        for arn in [arn for arn, old in _retired.items() if not old.readable()]:
            del _retired[arn]  # past the retention period: gone, as on AWS


def retired_stream(stream_arn: str) -> ShardedStream | None:
    """A retired stream still readable under ``stream_arn``, or None."""
    with _retired_lock:
        old = _retired.get(stream_arn)
    return old if old is not None and old.readable() else None


def find_stream(table: Any, label: str) -> ShardedStream | None:
    """The table's stream with ``label``: its current one, or a disabled one still readable."""
    current = table.stream_shard
    if isinstance(current, ShardedStream) and current.label == label:
        return current if current.readable() else None
    return retired_stream(f"{table.table_arn}/stream/{label}")


def _moto_now() -> Any:
    from moto.core.utils import utcnow

    return utcnow()
