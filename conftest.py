"""Test-session setup shared by ``tests/`` and the nbval run over ``solutions/``.

Each pytest process (each xdist worker) gets its own private emulator on a free
port, with its own state folder under ``test-artifacts/`` (its log stays there for
reading after a failure, until the next run; the emulator's credentials are kept
there too, so two runs in one checkout never share one). The ``LAB_*`` variables
are exported before any test runs, so notebook kernels, which inherit this
process's environment, talk to
that emulator and never to the learner's one on port 4599; ``LAB_TEST_MODE=1``
makes widgets render static snapshots and bound their refresh loops. The
emulator starts when first needed and stops when the session ends.

Every test is marked ``unit`` or ``emulator``: a test that needs an emulator (a
fixture that starts one, a notebook, the browser, course and notebook folders) is
``emulator``; every other test is ``unit`` and is refused an emulator while it runs,
so ``pytest -m unit`` (``make unit``) runs in seconds and the marks cannot drift. A
module in one of those folders that needs no emulator (it reads files only) says
so with ``pytestmark = pytest.mark.unit``, and is then refused one like any unit test.

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


# Fixtures that start an emulator (``lab`` and the others depend on ``emulator``), and the
# folders whose tests all need one.
EMULATOR_FIXTURES = {"emulator", "inprocess_emulator", "state_dir"}
EMULATOR_FOLDERS = {"browser", "course", "notebooks"}


def needs_emulator(item: pytest.Item) -> bool:
    """Does this test start (or use) an emulator? See the module docstring."""
    if item.path.suffix == ".ipynb" or item.get_closest_marker("emulator"):
        return True
    if item.get_closest_marker("unit"):  # declared so, in a folder of emulator tests
        return False
    if EMULATOR_FOLDERS & set(item.path.relative_to(ROOT).parts):
        return True
    return bool(EMULATOR_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.emulator if needs_emulator(item) else pytest.mark.unit)


class EmulatorRefused(RuntimeError):
    """A test marked ``unit`` tried to start an emulator: give it an emulator fixture."""


def _refuse_emulator(*args: object, **kwargs: object) -> None:
    raise EmulatorRefused(
        "this test is marked unit but starts an emulator; use the `emulator` or `lab` fixture"
    )


@pytest.fixture(autouse=True)
def _unit_tests_have_no_emulator(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("unit") is None:
        return
    from streamlab.local import app, control

    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setattr(control, "start", _refuse_emulator)
    monkeypatch.setattr(app.EmulatorApp, "__init__", _refuse_emulator)


def _private_state_folder(worker: str) -> Path:
    """``test-artifacts/emulator-WORKER-PID``: this process's own, since it holds the emulator's
    credentials; folders of pytest processes that have ended are removed (their logs stay until
    the next run), those of runs still going in the same checkout are left alone."""
    import psutil

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    for folder in artifacts.glob("emulator-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    state = artifacts / f"emulator-{worker}-{os.getpid()}"
    state.mkdir(mode=0o700)
    return state


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: a pure unit test (no emulator); `pytest -m unit`")
    config.addinivalue_line("markers", "emulator: the test starts or uses an emulator")
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    state = _private_state_folder(worker)
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


# Notebooks under test share the emulator with the unit tests of the same worker, so they
# run under their own prefix: 99_cleanup then deletes only what notebooks made. The
# sanitize file removes the prefix before outputs are compared.
NOTEBOOK_PREFIX = "nbtest-"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.suffix == ".ipynb":  # an nbval cell: its kernel needs the emulator
        os.environ["LAB_PREFIX"] = NOTEBOOK_PREFIX  # inherited by the kernel it starts
        ensure_emulator()
    else:
        os.environ.pop("LAB_PREFIX", None)


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
