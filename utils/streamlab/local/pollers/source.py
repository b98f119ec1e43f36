"""Where a poller reads its stream: moto's shard, read in-process under the lock.

Reading in-process (not through GetRecords over HTTP) keeps the poller cheap
enough to wake on every write. The lock is held only to slice the shard's list;
normalising the records happens outside it.
"""

from __future__ import annotations

import threading
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


class MotoShardSource:
    """The (single) shard moto keeps for a table's current stream.

    If the table is deleted or its stream replaced, the ARN names a stream that
    no longer exists: the source then reads as empty, as a dead stream would.
    """

    shard_id = "shardId-00000001541626099285-f35f62ef"  # moto's id for every table's shard

    def __init__(self, stream_arn: str, lock: threading.RLock) -> None:
        self.stream_arn = stream_arn
        self.region, self.account_id, self.table_name, self.label = parse_stream_arn(stream_arn)
        self.table_arn = stream_arn.split("/stream/", 1)[0]
        self._lock = lock
        # Records are immutable once appended, so each is normalised once and shared by lanes.
        self._cache: list[SourceRecord] = []
        self._cache_lock = threading.Lock()

    def _shard(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[self.account_id][self.region]
        table = backend.tables.get(self.table_name)
        if table is None or table.latest_stream_label != self.label:
            return None
        return table.stream_shard

    def read(self, start: int, limit: int) -> list[SourceRecord]:
        with self._cache_lock:
            have = len(self._cache)
            with self._lock:
                shard = self._shard()
                if shard is None:
                    return []
                self.shard_id = shard.id
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
