"""Where the background emulator keeps its pid file and log file.

The state folder is ``LAB_STATE_DIR`` when set, else ``~/.streamlab``. Files are
named by port, so emulators on different ports (tests use private ones) never
share a pid file.
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """The folder for pid and log files, created on first use."""
    folder = Path(os.environ.get("LAB_STATE_DIR") or Path.home() / ".streamlab")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pid_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.pid"


def log_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.log"


def output_file(port: int) -> Path:
    """What the background emulator prints outside its log (a crash while starting)."""
    return state_dir() / f"emulator-{port}.out"
