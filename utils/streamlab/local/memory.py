"""Gives the emulator's freed memory back to the system when it is quiet.

A burst (lab 04's 500 games, lab 06's replication) leaves the emulator's heap
full of freed blocks: Python frees its objects, but the C allocator keeps the
pages, so the process stays at its high-water mark for the rest of the day,
which on a shared workshop host is memory another participant could use. After
a few quiet seconds the emulator collects garbage and asks glibc to return
free pages (``malloc_trim``); elsewhere (macOS, Windows, musl) only the
collection runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Callable

QUIET_SECONDS = 2.0  # no request for this long: nobody is waiting on us
INTERVAL_SECONDS = 10.0


def _malloc_trim() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Collect garbage, then hand the allocator's free pages back to the system."""
    gc.collect()
    if _TRIM is not None:
        _TRIM()
