"""FilterCriteria: EventBridge patterns, ORed, matched by moto's own matcher.

A record that matches no pattern is dropped before batching and counts as
processed (the poller checkpoints past it), as on AWS. DynamoDB numbers are
strings in the record, so numeric ranges do not match ``N`` values: moto's
matcher agrees, since it compares types.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moto.events.models import EventPattern, EventPatternParser


class RecordFilter:
    """Decides whether a normalised record reaches the function."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = [EventPattern(raw, EventPatternParser(raw).parse()) for raw in patterns]

    @property
    def active(self) -> bool:
        return bool(self._patterns)

    def matches(self, record: dict[str, Any]) -> bool:
        if not self._patterns:
            return True
        return any(pattern.matches_event(record) for pattern in self._patterns)
