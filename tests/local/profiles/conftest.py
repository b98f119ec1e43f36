"""The emulator in the aws profile, shared by this folder's test modules.

Started as a learner or CI would start it (``streamlab start --profile aws
--time-scale 0.05 --seed 1``), on a private port and the session's private state
folder; one per module, so each module meets a fresh account.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.local import control
from streamlab.local.control import free_port

TIME_SCALE = 0.05


@pytest.fixture(scope="module")
def aws(state_dir: Path) -> Iterator[Lab]:
    """An emulator in the aws profile (private port; the session's private state folder)."""
    port = free_port()
    started = subprocess.run(
        [sys.executable, "-m", "streamlab", "start", "--port", str(port), "--profile", "aws",
         "--time-scale", str(TIME_SCALE), "--seed", "1"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
            start_emulator=False,
        )
    finally:
        control.stop(port)
