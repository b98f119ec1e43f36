"""The emulator's housekeeping: freed memory goes back once quiet; idle means stop."""

from __future__ import annotations

import platform
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from streamlab.local import memory, server


def test_glibc_trim_is_found_where_it_exists() -> None:
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert memory._TRIM is not None  # otherwise the release would silently do nothing
    memory.release_free_memory()


def test_arena_limit_is_set_on_glibc_unless_the_environment_chose_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False  # the environment's own choice stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert memory.limit_arenas() is glibc


def test_memory_is_released_once_per_quiet_spell_and_idle_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "INTERVAL_SECONDS", 0.02)
    monkeypatch.setattr(memory, "QUIET_SECONDS", 0.1)
    released: list[float] = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: released.append(time.monotonic()))
    monkeypatch.setattr(server, "_forget_pid_file", lambda port: None)
    app = SimpleNamespace(last_request=time.monotonic(), port=0)
    stopped = threading.Event()
    thread = threading.Thread(
        target=server._housekeeping, args=(app, 1.5, stopped.set), daemon=True
    )
    thread.start()
    time.sleep(0.5)
    assert len(released) == 1  # quiet since the start: once, not at every tick
    app.last_request = time.monotonic()  # a request: busy again, then quiet again
    time.sleep(0.5)
    assert len(released) == 2
    assert not stopped.is_set()
    assert stopped.wait(5)  # then 1.5 s without a request: it stops itself
    thread.join(timeout=5)


def test_idle_stop_can_be_switched_off() -> None:
    assert server.idle_seconds_setting({"LAB_EMULATOR_IDLE_SECONDS": "0"}) == 0
    assert server.idle_seconds_setting({}) == server.DEFAULT_IDLE_SECONDS == 7200
