"""One mapping's reading of a whole stream: every shard, parents before children.

A stream has several shards, and a shard closes and rolls over into a child
that names it as ``ParentShardId``. Lambda reads every shard at once, keeps
order within a shard, and starts a child only after its parent is finished,
so one key's records (which move from parent to child) stay in order. Each
shard gets its own ``Poller`` (its lanes, its per-shard checkpoints and
tumbling window); this module decides which shards to read and when.

A small monitor thread looks for new shards when the table is written or a
poll interval passes; a closed shard is finished once every lane has
checkpointed past its last record and its window, if any, is settled.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from .invoker import Invoker
from .on_failure import FailureSender
from .poller import FALLBACK_POLL_SECONDS, Lane, Poller, PollerHooks
from .settings import MappingSettings
from .source import ShardInfo, StreamSource

log = logging.getLogger("streamlab.pollers")


@dataclass
class StreamPoller:
    """The pollers of one mapping's shards, started, stopped and reconfigured together."""

    settings: MappingSettings
    source: StreamSource
    invoker: Invoker
    sender: FailureSender | None = None
    hooks: PollerHooks = field(default_factory=PollerHooks)
    latest: bool = False  # StartingPosition LATEST: shards there now start at their end
    poll_seconds: float = FALLBACK_POLL_SECONDS

    def __post_init__(self) -> None:
        self.shard_pollers: dict[str, Poller] = {}
        self.finished: set[str] = set()
        self._starts: dict[str, int] = {}
        if self.latest:
            for shard in self.source.shards():
                self._starts[shard.shard_id] = self.source.shard(shard.shard_id).length()
        self._lock = threading.RLock()
        self._running = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None

    # -- the poller interface the registry uses ------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def lanes(self) -> list[Lane]:
        with self._lock:
            return [lane for poller in self.shard_pollers.values() for lane in poller.lanes]

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._running = True
            self._stop.clear()
            self.discover()
            for shard_id, poller in self.shard_pollers.items():
                if shard_id not in self.finished:
                    poller.start()
            self._monitor = threading.Thread(
                target=self._watch, name=f"shards-{self.settings.uuid[:8]}", daemon=True
            )
            self._monitor.start()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            pollers = list(self.shard_pollers.values())
        for poller in pollers:
            poller.request_stop()

    def stop(self, timeout: float | None = None) -> None:
        """Stop every shard's lanes; a batch in flight finishes first (and is checkpointed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        with self._lock:
            self._running = False
            monitor, self._monitor = self._monitor, None
            pollers = list(self.shard_pollers.values())
        for poller in pollers:
            poller.request_stop()
        for poller in pollers:
            poller.stop(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if monitor is not None and monitor is not threading.current_thread():
            monitor.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def wake(self) -> None:
        self._wake.set()
        for poller in list(self.shard_pollers.values()):
            poller.wake()

    def reconfigure(self, settings: MappingSettings) -> None:
        """New settings for every shard's poller (and for shards found later)."""
        with self._lock:
            self.settings = settings
            pollers = [
                poller
                for shard_id, poller in self.shard_pollers.items()
                if shard_id not in self.finished
            ]
        for poller in pollers:
            poller.reconfigure(settings)

    def restart_at_latest(self) -> None:
        """``LATEST`` as AWS means it: the end of each shard when polling starts (the aws
        profile starts a mapping's poller tens of seconds after CreateEventSourceMapping)."""
        with self._lock:
            for shard in self.source.shards():
                self._starts[shard.shard_id] = self.source.shard(shard.shard_id).length()
            for shard_id, poller in self.shard_pollers.items():
                poller.restart_from(self._starts.get(shard_id, 0))

    def checkpoints(self) -> dict[str, list[int]]:
        """Each shard's lane checkpoints (positions in that shard)."""
        with self._lock:
            return {shard_id: p.checkpoints() for shard_id, p in self.shard_pollers.items()}

    # -- shards ----------------------------------------------------------------------------
    def discover(self) -> None:
        """Start pollers for shards whose parents are finished; retire finished shards."""
        shards = self.source.shards()
        listed = {shard.shard_id for shard in shards}
        with self._lock:
            for shard in shards:
                if shard.shard_id in self.finished:
                    continue
                poller = self.shard_pollers.get(shard.shard_id)
                if poller is None:
                    if not self._may_start(shard, listed):
                        continue
                    poller = self._new_poller(shard)
                    self.shard_pollers[shard.shard_id] = poller
                    if self._running:
                        poller.start()
                if shard.closed and self._drained(poller):
                    self.finished.add(shard.shard_id)
                    poller.request_stop()

    def _may_start(self, shard: ShardInfo, listed: set[str]) -> bool:
        parent = shard.parent_id
        return parent is None or parent not in listed or parent in self.finished

    def _new_poller(self, shard: ShardInfo) -> Poller:
        return Poller(
            self.settings,
            self.source.shard(shard.shard_id),
            self.invoker,
            self.sender,
            self.hooks,
            start_position=self._starts.get(shard.shard_id, 0),
        )

    @staticmethod
    def _drained(poller: Poller) -> bool:
        end = poller.source.length()
        return all(
            state.checkpoint >= end and state.window is None for state in poller.lanes_state
        )

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.discover()
            except Exception:  # a bug must not kill the mapping: try again on the next tick
                log.exception("mapping %s: shard discovery failed", self.settings.uuid)
            self._wake.wait(self.poll_seconds)
