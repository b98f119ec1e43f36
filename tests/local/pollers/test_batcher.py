"""Cutting batches: size, payload, filters, lanes and tumbling windows."""

from __future__ import annotations

import json

from streamlab.local.pollers.batcher import Batcher, lane_of
from streamlab.local.pollers.filters import RecordFilter

from .fakes import FakeSource


def test_batch_ends_at_batch_size() -> None:
    source = FakeSource()
    for i in range(5):
        source.add(f"k{i}")
    cut = Batcher(batch_size=2).cut(source, 0)
    assert [r.index for r in cut.records] == [0, 1] and cut.end == 2 and cut.complete
    cut = Batcher(batch_size=10).cut(source, 3)
    assert [r.index for r in cut.records] == [3, 4] and cut.end == 5 and not cut.complete


def test_batch_ends_before_the_payload_limit() -> None:
    source = FakeSource()
    for i in range(10):
        source.add(f"k{i}")
    size = source.records[0].size
    cut = Batcher(batch_size=100, max_payload_bytes=1024 + 3 * (size + 1)).cut(source, 0)
    assert len(cut.records) == 3 and cut.complete and cut.end == 3


def test_filtered_records_are_stepped_over_and_counted_in_the_checkpoint() -> None:
    source = FakeSource()
    source.add("a", event="INSERT")
    source.add("b", event="REMOVE")
    source.add("c", event="REMOVE")
    only_inserts = RecordFilter([json.dumps({"eventName": ["INSERT"]})])
    cut = Batcher(batch_size=10, record_filter=only_inserts).cut(source, 0)
    assert [r.index for r in cut.records] == [0] and cut.end == 3
    cut = Batcher(batch_size=10, record_filter=only_inserts).cut(source, 1)
    assert cut.records == [] and cut.end == 3


def test_lanes_split_keys_and_every_key_has_one_lane() -> None:
    source = FakeSource()
    for i in range(60):
        source.add(f"k{i % 12}")
    seen: dict[str, set[int]] = {}
    total = 0
    for lane in range(3):
        cut = Batcher(batch_size=1000, lane=lane, lanes=3).cut(source, 0)
        total += len(cut.records)
        for record in cut.records:
            seen.setdefault(record.partition_key, set()).add(lane)
    assert total == 60 and all(len(lanes) == 1 for lanes in seen.values())
    assert len({lane_of(key, 3) for key in seen}) > 1


def test_tumbling_window_boundary_ends_a_batch() -> None:
    source = FakeSource()
    source.add("a", created=1000.0)
    source.add("b", created=1015.0)
    source.add("c", created=1021.0)
    cut = Batcher(batch_size=100, tumbling_window_seconds=30).cut(source, 0)
    assert [r.index for r in cut.records] == [0, 1] and cut.complete
    assert cut.window_start == 990.0 and cut.end == 2
