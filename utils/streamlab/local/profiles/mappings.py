"""Event source mappings that take time, as AWS's do.

* ``Creating`` lasts tens of seconds before the poller starts; ``Updating``,
  ``Enabling`` and ``Disabling`` last seconds (``MappingTiming`` is the
  registry's hook for these delays);
* a ``LATEST`` mapping starts at the end of the stream as it is when its
  poller starts, so writes made while it was ``Creating`` are never delivered;
* at most two readers per shard: with more enabled mappings on one stream,
  each read is let through with probability 2/n and otherwise the poller
  backs off, so every mapping slows down, as AWS throttles them;
* ``DeleteEventSourceMapping`` leaves the mapping listed as ``Deleting`` for a
  while (``DeletingMappings``), so code that recreates it at once meets AWS's
  conflict window.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from .clock import ProfileClock
from .wire import Forward, pass_on

_STATE_FIGURES = {
    "Creating": "mappings.creating_seconds",
    "Updating": "mappings.updating_seconds",
    "Enabling": "mappings.updating_seconds",
    "Disabling": "mappings.updating_seconds",
}  # Deleting: the poller stops at once; ``DeletingMappings`` keeps the mapping listed


class MappingTiming:
    """The registry's hook (``MappingRegistry.profile``): delays and the readers' quota."""

    latest_at_start = True  # LATEST means the end of the stream when polling starts

    def __init__(self, clock: ProfileClock) -> None:
        self.clock = clock
        self.readers_per_shard = int(clock.value("mappings.readers_per_shard"))

    def transition_delay(self, state: str) -> float:
        """How long the mapping stays in ``state`` before the change takes effect."""
        figure = _STATE_FIGURES.get(state)
        return self.clock.delay(figure) if figure else 0.0

    def read_pause(self, readers: int) -> float:
        """0 to read now; else seconds to back off (more readers than the shard allows)."""
        if readers <= self.readers_per_shard:
            return 0.0
        if self.clock.chance(self.readers_per_shard / readers):
            return 0.0
        return self.clock.delay("mappings.throttled_read_backoff_seconds")


class DeletingMappings:
    """Keeps a deleted stream mapping visible as ``Deleting`` until its period ends."""

    def __init__(self, clock: ProfileClock) -> None:
        self.clock = clock
        self._deleting: dict[str, tuple[float, dict[str, Any]]] = {}  # uuid -> (until, config)
        self._lock = threading.Lock()

    def _alive(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            for uuid in [u for u, (until, _) in self._deleting.items() if until <= now]:
                del self._deleting[uuid]
            return {uuid: config for uuid, (_, config) in self._deleting.items()}

    def handle(self, operation: str, request: Request, forward: Forward) -> Response | None:
        uuid = request.path.rstrip("/").rsplit("/", 1)[-1]
        if operation == "DeleteEventSourceMapping":
            answer = pass_on(forward, request)
            config = answer.json()
            if answer.status < 300 and isinstance(config, dict) and "UUID" in config:
                config["State"] = "Deleting"
                until = time.monotonic() + self.clock.delay("mappings.deleting_seconds")
                with self._lock:
                    self._deleting[config["UUID"]] = (until, dict(config))
                return answer.with_json(config)
            return answer.response()
        alive = self._alive()
        if not alive:
            return None
        if operation == "GetEventSourceMapping" and uuid in alive:
            return Response(json.dumps(alive[uuid]), status=200, mimetype="application/json")
        if operation == "ListEventSourceMappings":
            answer = pass_on(forward, request)
            payload = answer.json()
            if answer.status != 200 or not isinstance(payload, dict):
                return answer.response()
            function = request.args.get("FunctionName")
            source = request.args.get("EventSourceArn")
            for config in alive.values():
                if source and config.get("EventSourceArn") != source:
                    continue
                if function and not _same_function(config.get("FunctionArn", ""), function):
                    continue
                payload.setdefault("EventSourceMappings", []).append(config)
            return answer.with_json(payload)
        return None


def _same_function(function_arn: str, name: str) -> bool:
    return function_arn == name or function_arn.split(":function:", 1)[-1] == name
