"""Shared fixtures: a private emulator on a free port, in a private state folder.

Tests never touch the learner's default emulator (port 4599) or ``~/.streamlab``,
and never real AWS: the ``lab`` fixture's clients carry dummy credentials and a
loopback endpoint.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamlab.config import load_config
from streamlab.local import control
from streamlab.session import Lab, connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    return free_port()


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("streamlab-state")
    os.environ["LAB_STATE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def emulator(state_dir: Path) -> Iterator[str]:
    """The endpoint of an emulator started for this test session (stopped at the end)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    previous = os.environ.get("LAB_ENDPOINT")
    os.environ["LAB_ENDPOINT"] = endpoint
    os.environ["LAB_BACKEND"] = "local"
    control.start(port)
    yield endpoint
    control.stop(port)
    if previous is None:
        os.environ.pop("LAB_ENDPOINT", None)
    else:
        os.environ["LAB_ENDPOINT"] = previous


@pytest.fixture(scope="session")
def lab(emulator: str) -> Lab:
    """A connection to the session's emulator."""
    return connect(load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator}))
