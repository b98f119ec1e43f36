"""`streamlab lab` (what `make lab` runs): the emulator, then JupyterLab on the first lab."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from streamlab.local.health import probe

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab/tree/labs/00_setup\.ipynb\?token=\w+")
posix_only = pytest.mark.skipif(
    os.name == "nt", reason="uses a POSIX process group to stop JupyterLab"
)


def _start_lab(emulator: str, port: int, runtime_dir: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "streamlab", "lab", "--jupyter-port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A private Jupyter runtime folder: servers of the developer's own never count.
        env={**os.environ, "LAB_ENDPOINT": emulator, "JUPYTER_RUNTIME_DIR": runtime_dir},
        start_new_session=True,
    )


def _printed_url(process: subprocess.Popen, deadline: float) -> str:
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        match = URL.search(line)
        if match:
            return match.group(0)
    raise AssertionError("no JupyterLab URL printed")


def _get(url: str, deadline: float) -> tuple[int, str]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@posix_only
def test_lab_starts_the_emulator_and_serves_the_first_lab(
    emulator: str, unused_port: int, tmp_path
) -> None:
    process = _start_lab(emulator, unused_port, str(tmp_path))
    try:
        deadline = time.monotonic() + 120
        url = _printed_url(process, deadline)
        assert probe(emulator).is_ours
        status, page = _get(url, deadline)
        assert status == 200
        # JupyterLab's news pop-up is off by configuration: its plugin is disabled in the
        # page configuration the server embeds in the page.
        assert "@jupyterlab/apputils-extension:announcements" in page
        data = re.search(r'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page, re.S)
        config = json.loads(data.group(1))
        assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]
    finally:
        _stop(process)


@posix_only
def test_a_second_lab_prints_the_url_that_answers(
    emulator: str, unused_port: int, tmp_path
) -> None:
    first = _start_lab(emulator, unused_port, str(tmp_path))
    try:
        deadline = time.monotonic() + 120
        url = _printed_url(first, deadline)
        assert _get(url, deadline)[0] == 200
        second = _start_lab(emulator, unused_port, str(tmp_path))
        try:
            again = _printed_url(second, deadline)
            assert second.wait(timeout=60) == 0, "the second `streamlab lab` should reuse the first"
        finally:
            _stop(second)
        assert again == url
    finally:
        _stop(first)


@posix_only
def test_a_port_taken_by_another_program_is_skipped_before_the_url_is_printed(
    emulator: str, unused_port: int, tmp_path
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", unused_port))
        squatter.listen()
        process = _start_lab(emulator, unused_port, str(tmp_path))
        try:
            deadline = time.monotonic() + 120
            url = _printed_url(process, deadline)
            assert int(URL.search(url).group(1)) != unused_port
            assert _get(url, deadline)[0] == 200
        finally:
            _stop(process)
