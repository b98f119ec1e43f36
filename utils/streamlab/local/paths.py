"""Where the background emulator keeps its pid, log, port and credentials files.

The state folder is ``LAB_STATE_DIR`` when set, else ``~/.streamlab``. It holds
the credentials the emulator issued to its owner, so it is private to that OS
user (mode 0700) and the credentials file is 0600. Pid and log files are named
by port, so emulators on different ports (tests use private ones) never share
one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import EmulatorError

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def state_dir() -> Path:
    """The private state folder, created (mode 0700) on first use and kept private."""
    folder = Path(os.environ.get("LAB_STATE_DIR") or Path.home() / ".streamlab")
    folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    make_private(folder, PRIVATE_FOLDER_MODE)
    return folder


def make_private(path: Path, mode: int) -> None:
    """Give ``path`` to its owner alone; refuse a folder or file someone else controls.

    Windows has no POSIX modes; its user profile folder is private already.
    """
    if os.name == "nt":
        return
    info = path.stat()
    if info.st_uid != os.getuid():
        raise EmulatorError(
            f"{path} belongs to another user (uid {info.st_uid}): the emulator keeps its "
            "credentials there; set LAB_STATE_DIR to a folder of your own."
        )
    if stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)


def pid_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.pid"


def log_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.log"


def credentials_file() -> Path:
    """The access keys the emulator issued to this user (see ``identities``)."""
    return state_dir() / "credentials.json"


def port_file() -> Path:
    """The port of this user's own emulator when the default one belongs to another user."""
    return state_dir() / "port"


def output_file(port: int) -> Path:
    """What the background emulator prints outside its log (a crash while starting)."""
    return state_dir() / f"emulator-{port}.out"
