"""Lab 04 in a real browser: JupyterLab in headless Chromium runs every cell of the notebook,
the live leaderboard widget renders the rows that GameScoresByUser holds, and the live
pipeline view renders its counts and moves them while games are played from the console.

nbval proves the cells run; only a browser proves the widgets render. The test
starts its own JupyterLab (a free port, a token, a temporary root folder holding a
copy of the notebook, settings folders of its own) whose kernels talk to this
session's private emulator under a prefix of their own, drives Debian's
``chromium`` with Python playwright (never a browser playwright downloads), and
saves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamlab.apps import game
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.local.control import free_port

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "solutions/04_event_driven_app.ipynb"
FIXTURE = "tests/browser/leaderboard_fixture.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROW = ".streamlab-leaderboard-row"
STAGE = ".streamlab-pipeline-stage"
KERNEL_READY = """() => {
  const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
  return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""

pytestmark = pytest.mark.timeout(420)


def find_browser() -> str | None:
    """Debian's chromium (or LAB_CHROMIUM): playwright drives the system browser."""
    for candidate in (os.environ.get("LAB_CHROMIUM", ""), *BROWSER_CANDIDATES):
        found = candidate and (shutil.which(candidate) or None)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser_path() -> str:
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    path = find_browser()
    if path is None:
        pytest.skip(
            "no Chromium browser is installed (apt-get install chromium, or set LAB_CHROMIUM)"
        )
    return path


class JupyterLab:
    """A JupyterLab server of the test's own, stopped (kernels and all) at the end."""

    def __init__(self, root: Path, env: dict[str, str], port: int) -> None:
        self.root = root
        self.port = port
        self.token = uuid.uuid4().hex
        self.log = root.parent / "jupyterlab.log"
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.news_url=",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: to see the kernel's state
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--ServerApp.allow_root=True")  # CI containers run as root
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"JupyterLab exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"JupyterLab did not answer in time:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Shut down through the API (which ends the kernels), then make sure it is gone."""
        import psutil

        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        request = urllib.request.Request(self.url("api/shutdown"), method="POST")
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture
def prefix() -> str:
    return f"ui{uuid.uuid4().hex[:6]}-"


@pytest.fixture
def jupyterlab(
    request: pytest.FixtureRequest,
    emulator: str,
    state_dir: Path,
    prefix: str,
    tmp_path: Path,
) -> Iterator[JupyterLab]:
    notebook: str = request.param
    source = ROOT / notebook
    if not source.exists():
        pytest.skip(f"{notebook} not written yet")
    root = tmp_path / "root"
    (root / notebook).parent.mkdir(parents=True)
    shutil.copy(source, root / notebook)  # autosave must never touch the repository's copy
    settings = tmp_path / "jupyter"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LAB_", "JUPYTER", "AWS_", "PYTEST_"))
    }
    env.update(
        LAB_BACKEND="local",
        LAB_ENDPOINT=emulator,
        LAB_STATE_DIR=str(state_dir),
        LAB_PREFIX=prefix,
        JUPYTER_CONFIG_DIR=str(settings / "config"),
        JUPYTER_DATA_DIR=str(settings / "data"),
        JUPYTER_RUNTIME_DIR=str(settings / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(settings / "lab-workspaces"),
        IPYTHONDIR=str(settings / "ipython"),
    )
    # LAB_TEST_MODE stays unset: here the widgets must be the live ones, not snapshots.
    _quiet_lab_settings(settings / "lab-settings")
    server = JupyterLab(root, env, free_port())
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _quiet_lab_settings(folder: Path) -> None:
    """No news pop-up and no update check in the way of the clicks."""
    target = folder / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    notebooks = folder / "@jupyterlab" / "notebook-extension"
    notebooks.mkdir(parents=True, exist_ok=True)
    (notebooks / "tracker.jupyterlab-settings").write_text(
        # No "Select Kernel" dialog; every cell in the page, not only those scrolled into view.
        json.dumps({"autoStartDefaultKernel": True, "windowingMode": "none"})
    )


def _lab(emulator: str, prefix: str) -> Lab:
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )


def _put_leader(lab: Lab, player: str, total: int) -> None:
    lab.dynamodb.put_item(
        TableName=game.totals_table_name(lab),
        Item={
            "PlayerName": {"S": player},
            "TotalScore": {"N": str(total)},
            "GamesPlayed": {"N": "1"},
            "BestScore": {"N": str(total)},
        },
    )


def _rendered_rows(page: Any) -> list[tuple[str, int]]:
    """The rows of the last leaderboard on the page (a lab may show more than one)."""
    cells = page.evaluate(
        """() => {
          const tables = document.querySelectorAll("table.streamlab-leaderboard");
          if (!tables.length) return [];
          const rows = tables[tables.length - 1].querySelectorAll("tr.streamlab-leaderboard-row");
          return [...rows].map(r => [r.dataset.player, Number(r.dataset.total)]);
        }"""
    )
    return [(name, total) for name, total in cells]


def _pipeline_counts(page: Any) -> dict[str, int]:
    """The numbers of the last pipeline view on the page, by stage ("–" left out)."""
    counts = page.evaluate(
        """() => {
          const views = document.querySelectorAll("div.streamlab-pipeline");
          if (!views.length) return {};
          const stages = views[views.length - 1].querySelectorAll("div.streamlab-pipeline-stage");
          return Object.fromEntries([...stages].map(s => [s.dataset.stage, s.dataset.count]));
        }"""
    )
    return {stage: int(value) for stage, value in counts.items() if value.isdigit()}


def _play_from_the_console(page: Any, games: int) -> None:
    """Set the console's Games box and press its Simulate button, as a learner would."""
    console = page.locator(".streamlab-game-console").first
    box = console.locator(".widget-inline-hbox", has_text="Games").locator("input").first
    box.fill(str(games))
    box.press("Enter")
    console.locator("button", has_text="Simulate N games").click()


def _wait_for_counts(page: Any, wanted: dict[str, int], timeout: float = 120.0) -> dict[str, int]:
    """The view's counts once every stage in ``wanted`` reached at least its number."""
    counts: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = _pipeline_counts(page)
        if all(counts.get(stage, -1) >= number for stage, number in wanted.items()):
            break
        page.wait_for_timeout(500)
    return counts


def _run_all_cells(page: Any) -> None:
    """The learner's way: the Run menu, then Run All Cells (accepting the kernel if asked)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))").click()
    accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept", has_text="Select")
    try:
        accept.wait_for(timeout=3_000)
    except Exception:  # noqa: BLE001 - no dialog: the kernel was started already
        return
    accept.click()


@pytest.mark.parametrize("jupyterlab", [FIXTURE, NOTEBOOK], indirect=True)
def test_run_all_cells_renders_the_live_leaderboard(
    jupyterlab: JupyterLab, browser_path: str, emulator: str, prefix: str, request: Any
) -> None:
    from playwright.sync_api import sync_playwright

    notebook = request.node.callspec.params["jupyterlab"]
    shot = ARTIFACTS / f"leaderboard-{Path(notebook).stem}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    lab = _lab(emulator, prefix)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(jupyterlab.root.parent / "chromium-profile"),
            executable_path=browser_path,
            headless=True,
            args=BROWSER_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.pages[0] if context.pages else context.new_page()
        try:
            page.goto(jupyterlab.url(f"lab/tree/{notebook}"), wait_until="domcontentloaded")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
            page.wait_for_function(KERNEL_READY, timeout=120_000)
            _run_all_cells(page)
            page.locator(ROW).first.wait_for(state="attached", timeout=240_000)
            expected: list[tuple[str, int]] = []
            rendered: list[tuple[str, int]] = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # the aggregate may still move: wait until
                rendered = _rendered_rows(page)  # the widget shows what the table holds
                board = game.leaderboard(lab)
                expected = [(r["PlayerName"], r["TotalScore"]) for r in board][: len(rendered)]
                if rendered and rendered == expected:
                    break
                page.wait_for_timeout(500)
            # The pipeline view: rendered, agreeing with the table, and moving while the
            # console plays games (its background refresh, no cell run).
            written = game.recompute_totals_by_scan(lab).games
            moving = ["written", "in_stream"] + (
                ["delivered", "counted"] if notebook == NOTEBOOK else []
            )
            page.locator(STAGE).first.wait_for(state="attached", timeout=60_000)
            before = _wait_for_counts(page, {stage: written for stage in moving})
            _play_from_the_console(page, 40)
            after = _wait_for_counts(page, {stage: before.get(stage, 0) + 40 for stage in moving})
            live: list[tuple[str, int]] = []
            if notebook == FIXTURE and rendered == expected:
                # Live, not a snapshot: a new leader written now must reach the browser
                # through the widget's background refresh, with no cell run.
                _put_leader(lab, "Zed", rendered[0][1] + 1)
                page.locator(f'{ROW}[data-player="Zed"]').wait_for(state="attached", timeout=60_000)
                live = _rendered_rows(page)
            # The lab's pipeline diagram: Mermaid in a Markdown cell, drawn by JupyterLab.
            diagrams = page.locator(".jp-RenderedMermaid").count()
            drawn = page.locator(".jp-RenderedMermaid :is(img, svg)").count()
            page.locator(STAGE).last.scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=True)
            errors = page.locator(".jp-OutputArea-output", has_text="Traceback").count()
        except Exception:
            page.screenshot(path=str(shot.with_name(f"{shot.stem}-failed.png")), full_page=True)
            raise
        finally:
            context.close()
    assert rendered == expected and rendered, f"widget rows {rendered} vs table {expected}"
    assert errors == 0, f"a cell failed in the browser; see {shot}"
    assert all(before.get(stage) == written for stage in moving), (before, written)
    assert all(after.get(stage, 0) >= written + 40 for stage in moving), (before, after)
    assert before.get("retried") == 0 and "failed" not in before  # lab 04 has no queue
    if notebook == NOTEBOOK:
        assert diagrams == drawn == 1, f"{drawn} of {diagrams} Mermaid diagram(s) drawn"
    if notebook == FIXTURE:
        totals = dict(rendered)
        assert set(totals) == {"Alice", "Bob", "Carol", "Dave"}
        assert totals["Alice"] == 999 and totals["Bob"] == 888
        assert live[0] == ("Zed", max(totals.values()) + 1) and live[1:] == rendered
    assert shot.stat().st_size > 0
