"""Shared fixtures: the private emulator of this test process, and a ``Lab`` on it.

Tests never touch the learner's default emulator (port 4599) or ``~/.streamlab``,
and never real AWS: the root ``conftest.py`` points ``LAB_ENDPOINT`` and
``LAB_STATE_DIR`` at a private emulator before any test runs, and the ``lab``
fixture's clients carry dummy credentials and that loopback endpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamlab.aws.session import Lab, connect
from streamlab.config import endpoint_port, load_config
from streamlab.local import control
from streamlab.local.control import free_port


@pytest.fixture
def unused_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    return free_port()


@pytest.fixture(scope="session")
def state_dir() -> Path:
    """The private state folder (pid and log files) of this test process's emulator."""
    return Path(os.environ["LAB_STATE_DIR"])


@pytest.fixture(scope="session")
def emulator(state_dir: Path) -> str:
    """The endpoint of this test process's private emulator (stopped when the session ends)."""
    endpoint = os.environ["LAB_ENDPOINT"]
    control.start(endpoint_port(endpoint))
    return endpoint


@pytest.fixture(scope="session")
def lab(emulator: str) -> Lab:
    """A connection to the session's emulator."""
    return connect(load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator}))
