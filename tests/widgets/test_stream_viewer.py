"""The live stream viewer: display first, then change; threads never print; bounded headless."""

from __future__ import annotations

import threading
import time

import pytest

from streamlab.aws import streams, tables
from streamlab.aws.session import Lab
from streamlab.widgets import stream_viewer
from streamlab.widgets.mode import headless, test_mode
from streamlab.widgets.stream_viewer import StreamViewer


@pytest.fixture
def stream(lab: Lab) -> tuple[str, str]:
    name = lab.name("UnitViewer")
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("RecordID", "N"))
    arn = streams.enable_stream(lab, name, "NEW_AND_OLD_IMAGES")
    tables.put_items(lab, name, [{"RecordID": 1, "PlayerName": "Alice"}])
    return name, arn


def viewer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "stream-viewer"]


def test_tests_run_in_test_mode_so_widgets_are_headless() -> None:
    assert test_mode() and headless()  # LAB_TEST_MODE=1 from the root conftest


def test_headless_start_is_bounded_and_joined(lab: Lab, stream, capsys) -> None:
    name, arn = stream
    viewer = StreamViewer(lab, arn, interval=0.01, headless_steps=2)
    assert viewer.headless and viewer._widget is None
    viewer.start()
    assert not viewer.running and not viewer_threads()  # finished within the call
    assert [c.event for c in viewer.changes] == ["INSERT"]
    tables.put_items(lab, name, [{"RecordID": 1, "PlayerName": "Alison"}])
    viewer.stop()  # reads what is left
    assert "PlayerName Alice -> Alison" in repr(viewer.snapshot())
    assert capsys.readouterr().out == ""  # the viewer itself never prints


def test_live_widget_changes_as_records_arrive_and_stops(lab: Lab, stream, capsys) -> None:
    name, arn = stream
    viewer = StreamViewer(lab, arn, interval=0.02, headless_mode=False)
    assert viewer._widget is not None
    viewer.start()
    assert viewer.running
    tables.put_items(lab, name, [{"RecordID": 2, "PlayerName": "Bob"}])
    deadline = time.monotonic() + 20  # a generous bound on a busy machine; not a timing test
    while "Bob" not in viewer._table.value and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "Bob" in viewer._table.value
    assert "following" in viewer._status.value
    viewer.stop()
    assert not viewer.running
    assert "stopped" in viewer._status.value
    assert capsys.readouterr().out == ""


def test_a_failing_stream_is_shown_in_the_status_not_raised(lab: Lab, stream) -> None:
    _name, arn = stream
    missing = arn.replace("/UnitViewer/", "/NoSuchTable/")
    viewer = StreamViewer(lab, missing, interval=0.01, headless_steps=2)
    viewer.start()
    assert viewer.error and "stopped:" in viewer.snapshot().caption


def test_snapshot_shows_the_newest_rows(lab: Lab, stream) -> None:
    name, arn = stream
    tables.put_items(lab, name, [{"RecordID": n} for n in range(2, 6)])
    viewer = StreamViewer(lab, arn, max_rows=2, interval=0.01, headless_steps=1)
    viewer.start()
    snapshot = viewer.snapshot()
    shards = len({row for row in viewer._shards})
    assert shards > 1  # five keys over the stream's shards
    assert len(snapshot) == 2
    assert snapshot.caption == f"5 record(s) seen from {shards} shard(s), newest 2 shown"
    assert snapshot.rows[-1][0] == "5"


def test_the_viewer_shows_each_records_shard_and_every_shards_records(lab: Lab, stream) -> None:
    name, arn = stream
    tables.put_items(lab, name, [{"RecordID": n} for n in range(2, 10)])
    viewer = StreamViewer(lab, arn, max_rows=20, interval=0.01, headless_steps=1)
    viewer.start()
    rows = viewer.snapshot().rows
    assert len(rows) == 9
    shards_of = {row[3]: row[1] for row in rows}
    records = streams.read_records(lab, arn)
    assert len(shards_of) == 9 and len(set(shards_of.values())) > 1
    assert len(records) == 9


def test_kernel_shutdown_stops_running_viewers(lab: Lab, stream) -> None:
    _name, arn = stream
    viewer = StreamViewer(lab, arn, interval=0.02, headless_mode=False)
    viewer.start()
    stream_viewer._stop_all()  # what atexit runs when the kernel exits
    viewer._thread.join(timeout=10)
    assert not viewer.running
