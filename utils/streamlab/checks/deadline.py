"""A deadline for learner code that a check runs: a loop that never ends becomes a message.

An exercise's function may never return (a stream reader that follows an open shard's
``NextShardIterator`` forever: an open shard always has one). A check cell that hangs
teaches nothing, so checks run learner code under a deadline. In a notebook the check
runs in the kernel's main thread, where an alarm signal interrupts the learner's loop
wherever it is (a Python loop or a wait for the network) and unwinds it like any
exception, leaving no thread behind. Where there is no alarm signal (Windows) or the
check runs outside the main thread, the code runs without a deadline, as before.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LEARNER_CODE_SECONDS = 60.0  # default for any learner function a check calls


class DeadlinePassed(BaseException):
    """Raised inside learner code when its time is up (a BaseException, so a learner's
    ``except Exception`` cannot swallow it)."""


def _available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise ``DeadlinePassed`` in this (main) thread after ``seconds``."""
    if not _available() or seconds <= 0:
        yield
        return

    def time_is_up(signum: int, frame: object) -> None:
        raise DeadlinePassed()

    previous = signal.signal(signal.SIGALRM, time_is_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
