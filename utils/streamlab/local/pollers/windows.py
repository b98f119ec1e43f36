"""Tumbling windows: the state a function carries from one invocation to the next.

Each invocation inside a window gets the state the previous one returned
(``{"state": {...}}``); when the window has ended and all its records are
processed the function is called once more with ``isFinalInvokeForWindow`` so
it can publish the window's result. A new window starts with empty state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .records import SourceRecord

MAX_STATE_BYTES = 1024 * 1024


def iso_seconds(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Window:
    start: float
    seconds: int
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.seconds

    def event(
        self, records: list[SourceRecord], *, shard_id: str, stream_arn: str, final: bool
    ) -> dict[str, Any]:
        """The event Lambda sends for a tumbling window mapping."""
        return {
            "Records": [record.record for record in records],
            "window": {"start": iso_seconds(self.start), "end": iso_seconds(self.end)},
            "state": dict(self.state),
            "shardId": shard_id,
            "eventSourceARN": stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    def absorb(self, payload: Any) -> None:
        """Keep the state the function returned (only a dict under ``state`` counts)."""
        if isinstance(payload, dict) and isinstance(payload.get("state"), dict):
            self.state = payload["state"]
