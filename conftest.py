"""Test-session setup shared by ``tests/`` and the nbval run over ``solutions/``.

Each pytest process (each xdist worker) gets its own private emulator on a free
port, with its state folder under ``test-artifacts/`` (its log stays there for
reading after a failure). The ``LAB_*`` variables are exported before any test
runs, so notebook kernels, which inherit this process's environment, talk to
that emulator and never to the learner's one on port 4599; ``LAB_TEST_MODE=1``
makes widgets render static snapshots and bound their refresh loops. The
emulator starts when first needed and stops when the session ends.

The terminal summary lists the time each notebook took (never asserted on).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOK_TIME_BUDGET_SECONDS = 30
_notebook_seconds: dict[str, float] = defaultdict(float)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_emulator() -> str:
    """Start this process's private emulator if it is not running; return its endpoint."""
    from streamlab.config import endpoint_port
    from streamlab.local import control

    endpoint = os.environ["LAB_ENDPOINT"]
    control.start(endpoint_port(endpoint))
    return endpoint


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    state = ROOT / "test-artifacts" / f"emulator-{worker}"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    os.environ.update(
        {
            "LAB_BACKEND": "local",
            "LAB_ENDPOINT": f"http://127.0.0.1:{_free_port()}",
            "LAB_STATE_DIR": str(state),
            "LAB_TEST_MODE": "1",
        }
    )
    os.environ.pop("LAB_PREFIX", None)  # solutions run with the local default (no prefix)
    os.environ.pop("LAB_REGION", None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.suffix == ".ipynb":  # an nbval cell: its kernel needs the emulator
        ensure_emulator()


def pytest_unconfigure(config: pytest.Config) -> None:
    from streamlab.config import endpoint_port
    from streamlab.local import control

    endpoint = os.environ.get("LAB_ENDPOINT")
    if endpoint:  # stopping an emulator that never started only probes the port
        try:
            control.stop(endpoint_port(endpoint))
        except Exception as exc:  # never hide the test results behind a cleanup error
            print(f"could not stop the test emulator at {endpoint}: {exc}")


def _notebook_of(report: pytest.TestReport) -> str | None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        return path
    for key, value in report.user_properties:
        if key == "notebook":
            return str(value)
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    notebook = _notebook_of(report)
    if notebook:
        _notebook_seconds[notebook] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook times")
    for notebook, seconds in sorted(_notebook_seconds.items()):
        note = "" if seconds <= NOTEBOOK_TIME_BUDGET_SECONDS else (
            f"  (over the {NOTEBOOK_TIME_BUDGET_SECONDS} s budget)"
        )
        terminalreporter.write_line(f"{seconds:6.1f} s  {notebook}{note}")
