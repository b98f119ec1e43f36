"""The emulator's stream mappings: one stream poller each, and the state AWS reports.

moto stores a mapping's settings and answers the API; the registry keeps what
moto does not: the poller, its checkpoints, ``State`` as it moves through
Creating/Enabling/Updating/Disabling/Deleting, and ``LastProcessingResult``.
Starting and stopping lanes can wait for an invocation in flight, so those
transitions run on a short-lived control thread and the API answers at once
with the transitional state, as AWS does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .invoker import Invoker
from .on_failure import FailureSender
from .poller import PollerHooks
from .settings import MappingSettings, with_defaults
from .source import MotoStreamSource, StreamSource
from .stream_poller import StreamPoller

log = logging.getLogger("streamlab.pollers")

NO_RECORDS = "No records processed"
USER_ACTION = "User action"

SourceFactory = Callable[[str], StreamSource]


class MappingProfile(Protocol):
    """What an emulator profile may change about mappings (``profiles.mappings``)."""

    latest_at_start: bool  # LATEST = the end of the stream when polling starts, not at create

    def transition_delay(self, state: str) -> float:
        """Seconds a mapping stays ``Creating``/``Updating``/... before the change applies."""

    def read_pause(self, readers: int) -> float:
        """0 to read the shard now, else seconds to back off (``readers`` share the stream)."""


@dataclass
class MappingStatus:
    state: str = "Creating"
    reason: str = USER_ACTION
    last_result: str = NO_RECORDS
    #: epoch seconds with their fraction, as AWS reports LastModified (moto keeps whole seconds)
    last_modified: float = field(default_factory=time.time)


class _Entry:
    def __init__(self, poller: StreamPoller, status: MappingStatus) -> None:
        self.poller = poller
        self.status = status
        self.pending: deque[Callable[[], None]] = deque()  # transitions, in request order
        self.worker: threading.Thread | None = None


class MappingRegistry:
    """Creates, reconfigures and stops pollers as the Lambda API changes mappings."""

    def __init__(
        self,
        *,
        source_factory: SourceFactory,
        invoker: Invoker,
        sender: FailureSender | None,
        stop_timeout: float = 5.0,
    ) -> None:
        self._source_factory = source_factory
        self.invoker = invoker  # replaceable (tests, another runtime): used by new pollers
        self._sender = sender
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._stop_timeout = stop_timeout
        self._closed = False
        self._closing = threading.Event()  # cuts a profile's transition delays short
        self._snapshot: tuple[StreamPoller, ...] = ()  # read without a lock by wake_table
        self.profile: MappingProfile | None = None  # None: the default, immediate behaviour

    # -- what the API layer calls -------------------------------------------------
    def created(self, config: dict[str, Any]) -> None:
        """A mapping now exists in moto: fix its start position, then start polling."""
        settings = MappingSettings.from_configuration({**config, "State": None})
        enabled = config.get("State") != "Disabled" and settings.enabled
        source = self._source_factory(settings.event_source_arn)
        status = MappingStatus("Creating")
        hooks = PollerHooks(report=lambda result: setattr(status, "last_result", result))
        if self.profile is not None:
            hooks.pause = lambda: self._read_pause(settings.event_source_arn)
        entry = _Entry(
            StreamPoller(
                settings,
                source,
                self.invoker,
                self._sender,
                hooks,
                latest=settings.starting_position == "LATEST",
            ),
            status,
        )
        with self._lock:
            self._entries[settings.uuid] = entry
            self._refresh_snapshot()

        def begin() -> None:
            late_latest = self.profile is not None and self.profile.latest_at_start
            if late_latest and settings.starting_position == "LATEST":
                entry.poller.restart_at_latest()
            self._apply_enabled(entry, enabled)

        self._transition(entry, begin, "Creating")

    def updated(self, config: dict[str, Any], enabled: bool | None) -> str:
        """moto accepted an update: report the transitional state and apply it."""
        entry = self._entry(config["UUID"])
        if entry is None:
            return "Enabled" if enabled is not False else "Disabled"
        settings = MappingSettings.from_configuration({**config, "State": None})
        if enabled is None:
            enabled = entry.status.state not in ("Disabled", "Disabling")
        was_enabled = entry.status.state not in ("Disabled", "Disabling")
        if enabled and not was_enabled:
            entry.status.state = "Enabling"
        elif not enabled and was_enabled:
            entry.status.state = "Disabling"
        else:
            entry.status.state = "Updating"
        entry.status.last_modified = time.time()
        state = entry.status.state

        def apply() -> None:
            entry.poller.reconfigure(settings)
            self._apply_enabled(entry, enabled)

        self._transition(entry, apply, state)
        return state

    def deleted(self, uuid: str) -> None:
        with self._lock:
            entry = self._entries.pop(uuid, None)
            self._refresh_snapshot()
        if entry is not None:
            entry.status.state = "Deleting"
            self._transition(entry, lambda: entry.poller.stop(self._stop_timeout))

    def overlay(self, config: dict[str, Any]) -> dict[str, Any]:
        """moto's configuration with AWS's defaults and the poller's state."""
        result = with_defaults(config)
        entry = self._entry(config.get("UUID", ""))
        if entry is not None:
            result["State"] = entry.status.state
            result["StateTransitionReason"] = entry.status.reason
            result["LastProcessingResult"] = entry.status.last_result
            result["LastModified"] = entry.status.last_modified
        else:
            result.setdefault("StateTransitionReason", USER_ACTION)
            result["StateTransitionReason"] = USER_ACTION
            result.setdefault("LastProcessingResult", NO_RECORDS)
        return result

    def status(self, uuid: str) -> MappingStatus | None:
        entry = self._entry(uuid)
        return None if entry is None else entry.status

    def poller(self, uuid: str) -> StreamPoller | None:
        entry = self._entry(uuid)
        return None if entry is None else entry.poller

    # -- the emulator's hooks ------------------------------------------------------
    def wake_table(self, table_arn: str) -> None:
        """Called (under moto's lock, so quickly) after a record is appended to a table."""
        for poller in self._snapshot:
            if poller.source.table_arn == table_arn:
                poller.wake()

    def close(self) -> None:
        """Stop every poller (emulator shutdown); in-flight invocations get a moment."""
        self._closed = True
        self._closing.set()
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
            self._refresh_snapshot()
        for entry in entries:
            entry.poller.request_stop()
        for entry in entries:
            entry.poller.stop(self._stop_timeout)

    # -- helpers -------------------------------------------------------------------
    def _refresh_snapshot(self) -> None:
        self._snapshot = tuple(entry.poller for entry in self._entries.values())

    def _entry(self, uuid: str) -> _Entry | None:
        with self._lock:
            return self._entries.get(uuid)

    def _apply_enabled(self, entry: _Entry, enabled: bool) -> None:
        if enabled and not self._closed and entry.status.state != "Deleting":
            entry.poller.start()
            entry.status.state = "Enabled"
        else:
            entry.poller.stop(self._stop_timeout)
            if entry.status.state != "Deleting":
                entry.status.state = "Disabled"

    def _read_pause(self, stream_arn: str) -> float:
        assert self.profile is not None
        readers = sum(
            1
            for poller in self._snapshot
            if poller.running and poller.settings.event_source_arn == stream_arn
        )
        return self.profile.read_pause(readers)

    def _transition(
        self, entry: _Entry, action: Callable[[], None], state: str | None = None
    ) -> None:
        """Queue ``action``; one thread per mapping runs its transitions in order.

        With a profile, the mapping stays in ``state`` for the profile's delay first.
        """
        delay = self.profile.transition_delay(state) if self.profile and state else 0.0

        def delayed() -> None:
            self._closing.wait(delay)
            action()

        def drain() -> None:
            while True:
                with self._lock:
                    if not entry.pending:
                        entry.worker = None
                        return
                    next_action = entry.pending.popleft()
                try:
                    next_action()
                except Exception:
                    log.exception("mapping %s: transition failed", entry.poller.settings.uuid)

        with self._lock:
            entry.pending.append(delayed if delay > 0 else action)
            if entry.worker is None:
                entry.worker = threading.Thread(target=drain, name="mapping-control", daemon=True)
                entry.worker.start()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until no transition is pending (tests and shutdown)."""
        with self._lock:
            workers = [e.worker for e in self._entries.values() if e.worker is not None]
        for worker in workers:
            worker.join(timeout)


def moto_source_factory(lock: threading.RLock) -> SourceFactory:
    return lambda stream_arn: MotoStreamSource(stream_arn, lock)
