"""Cutting the next batch from a shard: size, payload, filter, lane and window.

The batcher only decides which records go together; it never invokes or
checkpoints. A batch ends at ``BatchSize`` records, before the 6 MB payload
limit, and (with tumbling windows) at a window boundary. Records of other lanes
(``ParallelizationFactor``) and records no filter matches are stepped over.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from .filters import RecordFilter
from .records import SourceRecord
from .source import RecordSource

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
_EVENT_OVERHEAD = 1024  # the {"Records": [...]} frame and tumbling-window fields
_READ_CHUNK = 1000


def lane_of(partition_key: str, lanes: int) -> int:
    """Which of ``lanes`` concurrent batches a key belongs to: stable, so order holds per key."""
    if lanes <= 1:
        return 0
    return zlib.crc32(partition_key.encode()) % lanes


def window_start(arrival: float, window_seconds: int) -> float:
    """Tumbling windows are aligned to the epoch, like AWS's."""
    return math.floor(arrival / window_seconds) * window_seconds


@dataclass
class Cut:
    """The next batch and where the checkpoint goes once it is handled."""

    records: list[SourceRecord] = field(default_factory=list)
    end: int = 0  # the position after everything this batch accounts for
    complete: bool = False  # closed by size, payload or window: no reason to wait for more
    window_start: float | None = None


class Batcher:
    """Picks the records of one lane, in shard order, into batches."""

    def __init__(
        self,
        *,
        batch_size: int,
        record_filter: RecordFilter | None = None,
        lane: int = 0,
        lanes: int = 1,
        tumbling_window_seconds: int = 0,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        self.batch_size = batch_size
        self.record_filter = record_filter or RecordFilter([])
        self.lane = lane
        self.lanes = lanes
        self.tumbling_window_seconds = tumbling_window_seconds
        self.max_payload_bytes = max_payload_bytes

    def belongs(self, record: SourceRecord) -> bool:
        return lane_of(record.partition_key, self.lanes) == self.lane

    def cut(self, source: RecordSource, start: int) -> Cut:
        batch = Cut(end=start)
        payload = _EVENT_OVERHEAD
        position = start
        while True:
            chunk = source.read(position, _READ_CHUNK)
            if not chunk:
                return batch
            for record in chunk:
                if not self.belongs(record) or not self.record_filter.matches(record.record):
                    batch.end = record.index + 1
                    continue
                if self.tumbling_window_seconds:
                    start_of_window = window_start(record.arrival, self.tumbling_window_seconds)
                    if batch.records and start_of_window != batch.window_start:
                        batch.complete = True
                        return batch
                    batch.window_start = start_of_window
                if batch.records and payload + record.size + 1 > self.max_payload_bytes:
                    batch.complete = True
                    return batch
                batch.records.append(record)
                payload += record.size + 1
                batch.end = record.index + 1
                if len(batch.records) >= self.batch_size:
                    batch.complete = True
                    return batch
            position = chunk[-1].index + 1
