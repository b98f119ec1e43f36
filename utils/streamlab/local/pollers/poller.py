"""One poller per stream mapping: lanes that read the shard from their checkpoint.

A mapping reads its shard in ``ParallelizationFactor`` lanes. Each lane owns
the partition keys that hash to it, so per-key order holds while lanes run
batches concurrently; each lane keeps its own checkpoint (a position in the
shard) and, with tumbling windows, its window's state. The checkpoints live in
``LaneState`` objects that outlive the lane threads, so disabling and enabling
a mapping resumes exactly where it stopped.

A lane sleeps until its table is written (``wake``) or the fallback poll
interval passes, so nothing depends on the wake-up arriving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .batcher import Batcher
from .filters import RecordFilter
from .invoker import Invoker
from .on_failure import FailureSender
from .processor import BatchContext, BatchProcessor
from .records import SourceRecord
from .settings import MappingSettings
from .source import RecordSource
from .windows import Window

log = logging.getLogger("streamlab.pollers")

FALLBACK_POLL_SECONDS = 0.25  # AWS polls a shard about four times a second


@dataclass
class LaneState:
    """What survives a lane's thread: its checkpoint and its open tumbling window."""

    checkpoint: int
    window: Window | None = None
    head_index: int = -1  # first record of the batch being gathered (batching window)
    head_seen_at: float = 0.0


@dataclass
class PollerHooks:
    """How a poller reports to whoever owns it (the mapping registry)."""

    report: Callable[[str], None] = lambda result: None
    clock: Callable[[], float] = time.time
    pause: Callable[[], float] = lambda: 0.0  # > 0: the shard is throttled, back off that long


class Lane:
    """Reads one lane of the shard and settles its batches, one at a time, in order."""

    def __init__(self, poller: Poller, index: int, state: LaneState) -> None:
        self.poller = poller
        self.index = index
        self.state = state
        self.wake_event = threading.Event()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    # -- the loop ---------------------------------------------------------------
    def start(self) -> None:
        name = f"poller-{self.poller.settings.uuid[:8]}-{self.index}"
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            self.wake_event.clear()
            try:
                delay = self.step()
            except Exception:  # a bug must not kill the mapping: log, back off, go on
                log.exception("poller lane %s failed; retrying", self.thread and self.thread.name)
                delay = 1.0
            if delay > 0:
                self.wake_event.wait(delay)

    def wait(self, seconds: float) -> bool:
        """Sleep unless told to stop; True when the lane must stop."""
        return self.stop_event.wait(seconds)

    # -- one step -----------------------------------------------------------------
    def step(self) -> float:
        """Settle at most one batch; return how long to sleep before the next step."""
        pause = self.poller.hooks.pause()
        if pause > 0:  # throttled (an emulator profile): writes must not cut the wait short
            self.wait(pause)
            return 0
        settings = self.poller.settings
        state = self.state
        trimmed = self.poller.source.trimmed()
        if state.checkpoint < trimmed:
            # trimmed (24 h) before this mapping reached them (disabled meanwhile): they are
            # gone from the stream, as on AWS; go on from the oldest record still there
            log.info("mapping %s: %d trimmed record(s) skipped", settings.uuid,
                     trimmed - state.checkpoint)
            state.checkpoint = trimmed
        batcher = Batcher(
            batch_size=settings.batch_size,
            record_filter=self.poller.record_filter,
            lane=self.index,
            lanes=len(self.poller.lanes_state),
            tumbling_window_seconds=settings.tumbling_window_seconds,
        )
        cut = batcher.cut(self.poller.source, state.checkpoint)
        now = self.poller.hooks.clock()
        window = state.window
        if (
            window is not None
            and now >= window.end
            and (not cut.records or cut.window_start != window.start)
        ):
            if not self._settle(settings, [], state.checkpoint, window, final=True):
                return 0
            state.window = None
            return 0
        if not cut.records:
            state.checkpoint = max(state.checkpoint, cut.end)
            if window is not None:
                return max(0.0, min(FALLBACK_POLL_SECONDS, window.end - now + 0.001))
            return FALLBACK_POLL_SECONDS
        if not cut.complete and settings.batching_window_seconds:
            if state.head_index != cut.records[0].index:
                state.head_index, state.head_seen_at = cut.records[0].index, now
            remaining = state.head_seen_at + settings.batching_window_seconds - now
            if remaining > 0:
                return min(remaining, FALLBACK_POLL_SECONDS)
        if settings.tumbling_window_seconds:
            if window is None or window.start != cut.window_start:
                assert cut.window_start is not None
                window = state.window = Window(cut.window_start, settings.tumbling_window_seconds)
        self._settle(settings, cut.records, cut.end, window, final=False)
        return 0

    def _settle(
        self,
        settings: MappingSettings,
        records: list[SourceRecord],
        end: int,
        window: Window | None,
        *,
        final: bool,
    ) -> bool:
        source = self.poller.source

        def make_event(batch: list[SourceRecord]) -> dict:
            if window is None:
                return {"Records": [record.record for record in batch]}
            return window.event(
                batch, shard_id=source.shard_id, stream_arn=source.stream_arn, final=final
            )

        def advance(position: int) -> None:
            self.state.checkpoint = max(self.state.checkpoint, position)

        context = BatchContext(
            invoker=self.poller.invoker,
            sender=self.poller.sender,
            shard_id=source.shard_id,
            stream_arn=source.stream_arn,
            make_event=make_event,
            on_success=(lambda result: window.absorb(result.payload))
            if window
            else (lambda result: None),
            advance=advance,
            report=self.poller.hooks.report,
            wait=self.wait,
            clock=self.poller.hooks.clock,
        )
        processor = BatchProcessor(lambda: self.poller.settings, context)
        if final:
            return processor.process_final()
        return processor.process(records, end)


@dataclass
class Poller:
    """The lanes of one mapping, started, stopped and reconfigured together."""

    settings: MappingSettings
    source: RecordSource
    invoker: Invoker
    sender: FailureSender | None = None
    hooks: PollerHooks = field(default_factory=PollerHooks)
    start_position: int = 0

    def __post_init__(self) -> None:
        self.lanes_state = [
            LaneState(self.start_position) for _ in range(self.settings.parallelization_factor)
        ]
        self.record_filter = RecordFilter(self.settings.filter_patterns)
        self.lanes: list[Lane] = []
        self._control = threading.Lock()

    @property
    def running(self) -> bool:
        return bool(self.lanes)

    def start(self) -> None:
        with self._control:
            if self.lanes:
                return
            self.lanes = [Lane(self, i, state) for i, state in enumerate(self.lanes_state)]
            for lane in self.lanes:
                lane.start()

    def request_stop(self) -> None:
        """Ask every lane to stop without waiting (lets many pollers stop in parallel)."""
        for lane in list(self.lanes):
            lane.stop_event.set()
            lane.wake_event.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the lanes; an invocation in flight finishes first (and is checkpointed)."""
        with self._control:
            lanes, self.lanes = self.lanes, []
            for lane in lanes:
                lane.stop_event.set()
                lane.wake_event.set()
            deadline = None if timeout is None else time.monotonic() + timeout
            for lane in lanes:
                if lane.thread is not None:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    lane.thread.join(left)

    def wake(self) -> None:
        for lane in self.lanes:
            lane.wake_event.set()

    def reconfigure(self, settings: MappingSettings) -> None:
        """Apply new settings: lanes read them on their next batch.

        A new ParallelizationFactor regroups keys, so the lanes restart from the
        lowest checkpoint among them (records past it in faster lanes are
        delivered again: a documented, at-least-once duplicate).
        """
        was_running = self.running
        if settings.parallelization_factor != len(self.lanes_state):
            self.stop()
            lowest = min(state.checkpoint for state in self.lanes_state)
            self.lanes_state = [LaneState(lowest) for _ in range(settings.parallelization_factor)]
        self.record_filter = RecordFilter(settings.filter_patterns)
        self.settings = settings
        if was_running and not self.running:
            self.start()

    def restart_from(self, position: int) -> None:
        """Move every lane's checkpoint to ``position`` (before the poller first starts)."""
        with self._control:
            if not self.lanes:
                self.lanes_state = [LaneState(position) for _ in self.lanes_state]

    def checkpoints(self) -> list[int]:
        return [state.checkpoint for state in self.lanes_state]
