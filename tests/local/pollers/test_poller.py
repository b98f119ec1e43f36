"""A poller's lanes: checkpoints, resume, per-key order, batching and tumbling windows."""

from __future__ import annotations

import threading
import time
from typing import Any

from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.pollers.poller import FALLBACK_POLL_SECONDS, Lane, Poller, PollerHooks
from streamlab.local.pollers.settings import MappingSettings

from .fakes import FUNCTION_ARN, STREAM_ARN, FakeInvoker, FakeSource

T0 = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = T0 + 1) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_poller(
    source: FakeSource,
    invoker: FakeInvoker,
    clock: Clock | None = None,
    start: int = 0,
    **overrides: Any,
) -> Poller:
    settings = MappingSettings(
        uuid="mapping-1", function_arn=FUNCTION_ARN, event_source_arn=STREAM_ARN, **overrides
    )
    hooks = PollerHooks(clock=clock or Clock())
    return Poller(settings, source, invoker, None, hooks, start_position=start)


def lane(poller: Poller, index: int = 0) -> Lane:
    return Lane(poller, index, poller.lanes_state[index])


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_lane_delivers_in_batches_and_checkpoints_each() -> None:
    source = FakeSource()
    for i in range(5):
        source.add(f"k{i}", created=T0)
    invoker = FakeInvoker()
    poller = make_poller(source, invoker, batch_size=2)
    worker = lane(poller)
    assert [worker.step(), worker.step(), worker.step()] == [0, 0, 0]
    assert invoker.batches() == [["1000", "1001"], ["1002", "1003"], ["1004"]]
    assert poller.checkpoints() == [5]
    assert worker.step() == FALLBACK_POLL_SECONDS and len(invoker.events) == 3


def test_latest_starts_after_the_records_already_in_the_shard() -> None:
    source = FakeSource()
    source.add("old", created=T0)
    invoker = FakeInvoker()
    poller = make_poller(source, invoker, start=source.length())
    source.add("new", created=T0)
    lane(poller).step()
    assert invoker.batches() == [["1001"]]


def test_disable_and_enable_resume_from_the_checkpoint() -> None:
    source = FakeSource()
    invoker = FakeInvoker()
    poller = make_poller(source, invoker, batch_size=10)
    poller.start()
    try:
        for i in range(3):
            source.add(f"k{i}", created=T0)
        poller.wake()
        wait_until(lambda: poller.checkpoints() == [3])
        poller.stop()
        for i in range(3, 6):
            source.add(f"k{i}", created=T0)
        time.sleep(FALLBACK_POLL_SECONDS * 2)
        assert sum(len(b) for b in invoker.batches()) == 3  # nothing while disabled
        poller.start()
        wait_until(lambda: poller.checkpoints() == [6])
    finally:
        poller.stop()
    delivered = [seq for batch in invoker.batches() for seq in batch]
    assert delivered == [str(1000 + i) for i in range(6)]


def test_fallback_poll_delivers_without_a_wake_up() -> None:
    source = FakeSource()
    invoker = FakeInvoker()
    poller = make_poller(source, invoker)
    poller.start()
    try:
        source.add("quiet", created=T0)  # no wake(): only the fallback poll can find it
        wait_until(lambda: poller.checkpoints() == [1])
    finally:
        poller.stop()
    assert invoker.batches() == [["1000"]]


def test_parallelization_factor_keeps_order_per_key_and_delivers_everything_once() -> None:
    source = FakeSource()
    keys = [f"k{i}" for i in range(20)]
    expected: dict[str, list[int]] = {key: [] for key in keys}
    for step in range(400):
        key = keys[(step * 7) % 20]
        expected[key].append(step)
        source.add(key, value=step, created=T0)
    concurrent = {"now": 0, "max": 0}
    guard = threading.Lock()

    def respond(event: dict) -> InvokeResult:
        with guard:
            concurrent["now"] += 1
            concurrent["max"] = max(concurrent["max"], concurrent["now"])
        time.sleep(0.002)
        with guard:
            concurrent["now"] -= 1
        return InvokeResult()

    invoker = FakeInvoker(respond)
    poller = make_poller(source, invoker, batch_size=10, parallelization_factor=4)
    poller.start()
    try:
        wait_until(lambda: sum(len(e["Records"]) for e in list(invoker.events)) >= 400)
    finally:
        poller.stop()
    seen: dict[str, list[int]] = {key: [] for key in keys}
    for event in invoker.events:
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["id"]["S"]
            seen[key].append(int(record["dynamodb"]["NewImage"]["value"]["N"]))
    assert seen == expected
    assert concurrent["max"] > 1  # lanes really ran batches at the same time


def test_new_parallelization_factor_restarts_from_the_lowest_checkpoint() -> None:
    source = FakeSource()
    for i in range(6):
        source.add(f"k{i}", created=T0)
    invoker = FakeInvoker()
    poller = make_poller(source, invoker, parallelization_factor=2)
    lane(poller, 0).step()
    lowest = min(poller.checkpoints())
    poller.reconfigure(
        MappingSettings(
            uuid="mapping-1",
            function_arn=FUNCTION_ARN,
            event_source_arn=STREAM_ARN,
            parallelization_factor=3,
        )
    )
    assert poller.checkpoints() == [lowest] * 3


def test_batching_window_waits_for_more_records_until_it_ends() -> None:
    source = FakeSource()
    source.add("a", created=T0)
    clock = Clock()
    invoker = FakeInvoker()
    poller = make_poller(source, invoker, clock, batch_size=10, batching_window_seconds=5)
    worker = lane(poller)
    assert worker.step() > 0 and invoker.events == []
    clock.now += 2
    source.add("b", created=T0)
    assert worker.step() > 0 and invoker.events == []
    clock.now += 3.01
    assert worker.step() == 0
    assert invoker.batches() == [["1000", "1001"]]


def test_full_batch_does_not_wait_for_the_batching_window() -> None:
    source = FakeSource()
    source.add("a", created=T0)
    source.add("b", created=T0)
    invoker = FakeInvoker()
    poller = make_poller(source, invoker, batch_size=2, batching_window_seconds=300)
    assert lane(poller).step() == 0 and invoker.batches() == [["1000", "1001"]]


def test_tumbling_window_carries_state_and_ends_with_a_final_invoke() -> None:
    source = FakeSource()
    window = 30
    start = (T0 // window) * window
    source.add("a", value=1, created=start + 1)
    source.add("b", value=2, created=start + 2)

    def respond(event: dict) -> InvokeResult:
        total = event["state"].get("total", 0)
        total += sum(int(r["dynamodb"]["NewImage"]["value"]["N"]) for r in event["Records"])
        return InvokeResult(payload={"state": {"total": total}})

    clock = Clock(start + 3)
    invoker = FakeInvoker(respond)
    poller = make_poller(source, invoker, clock, batch_size=1, tumbling_window_seconds=window)
    worker = lane(poller)
    worker.step()
    worker.step()
    assert [e["state"] for e in invoker.events] == [{}, {"total": 1}]
    assert worker.step() > 0 and len(invoker.events) == 2  # window still open: no final call
    clock.now = start + window + 0.5
    worker.step()
    final = invoker.events[-1]
    assert final["isFinalInvokeForWindow"] is True and final["Records"] == []
    assert final["state"] == {"total": 3} and final["isWindowTerminatedEarly"] is False
    assert final["shardId"] == source.shard_id and final["eventSourceARN"] == STREAM_ARN
    assert set(final["window"]) == {"start", "end"}
    source.add("c", value=5, created=start + window + 1)
    worker.step()
    assert invoker.events[-1]["state"] == {}  # a new window starts empty
    assert invoker.events[-1]["isFinalInvokeForWindow"] is False
