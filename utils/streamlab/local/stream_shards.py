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
rollover; tests and the coming AWS profile turn rollover on.
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


@dataclass(frozen=True)
class ShardPolicy:
    """How a new stream is split and when its shards close.

    ``rollover_records``: a shard closes once it holds this many records (the
    next record of its keys opens a child). ``rollover_seconds``: a shard
    closes this long after it opened (AWS: about four hours). ``None`` turns a
    rule off. ``clock`` is injectable so tests never depend on wall-clock time.

    The default local mode is ``ShardPolicy()``: several shards, no rollover.
    An AWS-like profile passes AWS's timing, e.g.
    ``ShardPolicy(rollover_seconds=4 * 3600 * time_scale)``, to ``server.build_app``
    (or ``configure``); ``streamlab serve`` takes ``--stream-shards``,
    ``--shard-rollover-records`` and ``--shard-rollover-seconds``.
    """

    shards: int = DEFAULT_SHARDS
    rollover_records: int | None = None
    rollover_seconds: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError("a stream needs at least one shard")
        if self.rollover_records is not None and self.rollover_records < 1:
            raise ValueError("rollover_records must be at least 1")
        if self.rollover_seconds is not None and self.rollover_seconds <= 0:
            raise ValueError("rollover_seconds must be positive")


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

    def get(self, start: int, quantity: int) -> list[dict[str, Any]]:
        """Up to ``quantity`` records whose sequence number is ``start`` or more."""
        first = bisect.bisect_left(self.numbers, start)
        return [item.to_json() for item in self.items[first : first + quantity]]

    def position_of(self, sequence_number: int) -> int:
        """Index of the first record numbered ``sequence_number`` or more."""
        return bisect.bisect_left(self.numbers, sequence_number)

    def latest_sequence_number(self) -> int:
        """Where a LATEST iterator starts: after every record written so far."""
        return self.stream.next_number

    def exhausted_from(self, sequence_number: int) -> bool:
        """True when the shard is closed and holds nothing numbered ``sequence_number`` or more."""
        return self.closed and self.position_of(sequence_number) >= len(self.items)


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
        self.stream_arn = f"{table.table_arn}/stream/{table.latest_stream_label}"
        self.view_type = (table.stream_specification or {}).get("StreamViewType")
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

    def close_all(self) -> None:
        """The stream was disabled: every open shard ends (its records stay readable)."""
        for shard in self.open:
            if not shard.closed:
                shard.ending_sequence_number = max(
                    shard.numbers[-1] if shard.numbers else shard.starting_sequence_number,
                    shard.starting_sequence_number,
                )

    def roll_over_due(self) -> None:
        """Close every open shard older than the policy allows (checked lazily, on use)."""
        seconds = self.policy.rollover_seconds
        if seconds is None or not (self.table.stream_specification or {}).get("StreamEnabled"):
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


def _moto_now() -> Any:
    from moto.core.utils import utcnow

    return utcnow()
