"""Per-account request quotas (DescribeStream 10/s, FilterLogEvents 5/s) over a sliding second.

AWS counts calls per account and region; a call over the quota is refused at
once (the caller must back off), it is not queued. Quotas are per real second
whatever the time scale: they bound the pace of the code under test.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable


class RateLimiter:
    """Allows at most ``per_second`` calls per key in any window of ``window`` seconds."""

    def __init__(
        self, per_second: float, window: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = max(1, int(per_second * window))
        self.window = window
        self._clock = clock
        self._calls: dict[Hashable, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: Hashable) -> bool:
        """Count a call for ``key``; False (and not counted) when it is over the quota."""
        now = self._clock()
        with self._lock:
            calls = self._calls[key]
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                return False
            calls.append(now)
            return True
