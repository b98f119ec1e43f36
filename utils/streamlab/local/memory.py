"""Keeps the emulator's heap small: few allocator arenas, freed memory given back when quiet.

A burst (lab 04's 500 games, lab 06's replication) leaves the emulator's heap
full of freed blocks: Python frees its objects, but the C allocator keeps the
pages, so the process stays at its high-water mark for the rest of the day,
which on a shared workshop host is memory another participant could use. After
a few quiet seconds the emulator collects garbage and asks glibc to return
free pages (``malloc_trim``); elsewhere (macOS, Windows, musl) only the
collection runs.

glibc also gives threads their own arenas (up to eight per core), and the
emulator runs a thread per request, per Runtime API and per shard poller, so
freed blocks scatter over many arenas that each keep their own high-water
mark. At start the emulator limits itself to ``ARENAS`` arenas (what
``MALLOC_ARENA_MAX`` would set): about 12 MiB less over the course. Python
holds the GIL for nearly all its allocations, so threads seldom wait for an
arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from collections.abc import Callable

QUIET_SECONDS = 2.0  # no request for this long: nobody is waiting on us
INTERVAL_SECONDS = 10.0
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc has both; musl has neither
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


_LIBC = _glibc()


def _malloc_trim() -> Callable[[], None] | None:
    if _LIBC is None:
        return None
    trim = _LIBC.malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


_TRIM = _malloc_trim()


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Use at most ``arenas`` malloc arenas from now on (glibc); call before starting threads.

    An explicit ``MALLOC_ARENA_MAX`` in the environment wins. Returns whether a limit was set.
    """
    if _LIBC is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    mallopt = _LIBC.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(_M_ARENA_MAX, arenas) == 1


def release_free_memory() -> None:
    """Collect garbage, then hand the allocator's free pages back to the system."""
    gc.collect()
    if _TRIM is not None:
        _TRIM()
