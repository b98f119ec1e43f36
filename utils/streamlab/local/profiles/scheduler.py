"""Runs the profile's deferred work (late log events, a table's final deletion) on one thread.

One daemon thread and a heap: cheaper than a timer thread per event, and
``close`` (emulator shutdown) drops what is still waiting instead of leaving
threads behind.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("streamlab.profiles")


class Scheduler:
    """``later(seconds, action)`` runs ``action`` once, about ``seconds`` from now."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # equal due times run in the order they were given
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="profile-scheduler", daemon=True)
        self._thread.start()

    def later(self, seconds: float, action: Callable[[], None]) -> float:
        """Schedule ``action``; returns its due time on this scheduler's clock."""
        due = self._clock() + max(0.0, seconds)
        self.at(due, action)
        return due

    def at(self, due: float, action: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._heap, (due, next(self._order), action))
            self._cond.notify()

    def now(self) -> float:
        return self._clock()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > self._clock()):
                    timeout = None if not self._heap else self._heap[0][0] - self._clock()
                    self._cond.wait(timeout)
                if self._closed:
                    return
                _, _, action = heapq.heappop(self._heap)
            try:
                action()
            except Exception:  # one failed action must not stop the others
                log.exception("deferred profile action failed")

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
        self._thread.join(timeout)
