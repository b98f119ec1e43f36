"""Where a poller reads its stream: the emulator's shards, read in-process under the lock.

Reading in-process (not through GetRecords over HTTP) keeps the poller cheap
enough to wake on every write. The lock is held only to slice the shard's list;
normalising the records happens outside it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from .records import SourceRecord, normalise


class RecordSource(Protocol):
    """A stream shard as a poller sees it: an append-only list of records."""

    stream_arn: str
    shard_id: str
    table_arn: str

    def read(self, start: int, limit: int) -> list[SourceRecord]:
        """Up to ``limit`` records from position ``start`` (fewer at the end)."""

    def length(self) -> int:
        """How many records the shard holds (the position after the newest)."""

    def trimmed(self) -> int:
        """The position of the oldest record not yet trimmed (older ones are gone)."""


def parse_stream_arn(stream_arn: str) -> tuple[str, str, str, str]:
    """``(region, account, table, label)`` of ``arn:aws:dynamodb:R:A:table/T/stream/L``."""
    parts = stream_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "dynamodb":
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn}")
    resource = parts[5]
    if not resource.startswith("table/") or "/stream/" not in resource:
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn}")
    table, label = resource[len("table/") :].split("/stream/", 1)
    return parts[3], parts[4], table, label


def is_dynamodb_stream_arn(arn: str) -> bool:
    try:
        parse_stream_arn(arn)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ShardInfo:
    """A shard as the stream lists it: enough to read parents before children."""

    shard_id: str
    parent_id: str | None
    closed: bool


class StreamSource(Protocol):
    """A stream as a mapping sees it: its shards, each readable as a ``RecordSource``."""

    stream_arn: str
    table_arn: str

    def shards(self) -> list[ShardInfo]:
        """Every shard of the stream, oldest first (empty when the stream is gone)."""

    def shard(self, shard_id: str) -> RecordSource:
        """One shard's records."""


def _sharded_stream(stream_arn: str) -> Any:
    """The emulator's ``ShardedStream`` behind a stream ARN, or None if it no longer exists.

    A stream disabled and replaced by a new one (a new ARN), or its table
    deleted, stays readable for 24 hours, as on AWS, so a mapping on the old
    ARN finishes its records and sees none of a new stream's. Past its
    retention, the ARN names a stream that no longer exists: its shards then
    read as empty, as a dead stream's would. Call under moto's lock.
    """
    from moto.dynamodb.models import dynamodb_backends

    from ..stream_shards import ShardedStream, find_stream, retired_stream

    region, account_id, table_name, label = parse_stream_arn(stream_arn)
    table = dynamodb_backends[account_id][region].tables.get(table_name)
    if table is None:
        return retired_stream(stream_arn)
    if not isinstance(table.stream_shard, ShardedStream):
        return None
    return find_stream(table, label)


class MotoStreamSource:
    """The shards the emulator keeps for a table's current stream, read in-process."""

    def __init__(self, stream_arn: str, lock: threading.RLock) -> None:
        self.stream_arn = stream_arn
        self.table_arn = stream_arn.split("/stream/", 1)[0]
        self._lock = lock
        self._sources: dict[str, MotoShardSource] = {}

    def shards(self) -> list[ShardInfo]:
        with self._lock:
            stream = _sharded_stream(self.stream_arn)
            if stream is None:
                return []
            stream.roll_over_due()
            return [
                ShardInfo(shard.id, shard.parent_shard_id, shard.closed) for shard in stream.shards
            ]

    def shard(self, shard_id: str) -> RecordSource:
        if shard_id not in self._sources:
            self._sources[shard_id] = MotoShardSource(self.stream_arn, self._lock, shard_id)
        return self._sources[shard_id]


class MotoShardSource:
    """One shard of a table's current stream (reads as empty once the stream is gone)."""

    def __init__(self, stream_arn: str, lock: threading.RLock, shard_id: str) -> None:
        self.stream_arn = stream_arn
        self.shard_id = shard_id
        self.region, self.account_id, self.table_name, self.label = parse_stream_arn(stream_arn)
        self.table_arn = stream_arn.split("/stream/", 1)[0]
        self._lock = lock
        # Records are immutable once appended, so each is normalised once and shared by lanes.
        self._cache: list[SourceRecord] = []
        self._cache_lock = threading.Lock()

    def _shard(self) -> Any:
        stream = _sharded_stream(self.stream_arn)
        return None if stream is None else stream.shard(self.shard_id)

    def read(self, start: int, limit: int) -> list[SourceRecord]:
        with self._cache_lock:
            have = len(self._cache)
            with self._lock:
                shard = self._shard()
                if shard is None:
                    return []
                raws = [item.record for item in shard.items[have : start + limit]]
            self._cache.extend(
                normalise(raw, index=have + offset, region=self.region, stream_arn=self.stream_arn)
                for offset, raw in enumerate(raws)
            )
            return self._cache[start : start + limit]

    def length(self) -> int:
        with self._lock:
            shard = self._shard()
            return 0 if shard is None else len(shard.items)

    def trimmed(self) -> int:
        with self._lock:
            shard = self._shard()
            return 0 if shard is None else shard.trimmed()
