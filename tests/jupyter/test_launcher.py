"""`streamlab lab` (what `make lab` runs): the emulator, then JupyterLab on the first lab."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from streamlab.local.health import probe


@pytest.mark.skipif(os.name == "nt", reason="uses a POSIX process group to stop JupyterLab")
def test_lab_starts_the_emulator_and_serves_the_first_lab(emulator: str, unused_port: int) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlab",
            "lab",
            "--jupyter-port",
            str(unused_port),
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "LAB_ENDPOINT": emulator},
        start_new_session=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "streamlab lab exited early"
            match = re.search(
                r"http://127\.0\.0\.1:\d+/lab/tree/labs/00_setup\.ipynb\?token=\w+", line
            )
            url = match.group(0) if match else None
        assert url, "no JupyterLab URL printed"
        assert probe(emulator).is_ours
        status = None
        while status is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    status = response.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
