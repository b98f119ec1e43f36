"""The same fixture notebook run headless (LAB_TEST_MODE=1, as nbval runs the labs): the
widgets show static snapshots, the bounded refresh loop is joined in its cell, and the
kernel ends cleanly with no refresh thread left behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/browser/leaderboard_fixture.ipynb"


@pytest.fixture
def headless_env(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel inherits these: this session's emulator, a fresh prefix, test mode."""
    monkeypatch.setenv("LAB_BACKEND", "local")
    monkeypatch.setenv("LAB_ENDPOINT", emulator)
    monkeypatch.setenv("LAB_PREFIX", f"hl{uuid.uuid4().hex[:6]}-")
    monkeypatch.setenv("LAB_TEST_MODE", "1")


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("data", {}).get("text/plain", "") + output.get("text", "")
        for output in cell.outputs
    )


@pytest.mark.usefixtures("headless_env")
def test_fixture_runs_headless_with_snapshots_and_joined_loops() -> None:
    notebook = nbformat.read(FIXTURE, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import threading\n"
            "(board.running, board.loop.steps,\n"
            " sorted(t.name for t in threading.enumerate() if t.name.startswith('streamlab')))"
        )
    )
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    pipeline = _text(code[-4])
    console, board, threads = _text(code[-3]), _text(code[-2]), _text(code[-1])
    # 32 games written and on the stream, no function (nothing delivered), totals written directly
    assert pipeline.splitlines() == [
        "Pipeline: written 32 → in the stream 32 → delivered 0 → counted 32",
        "  retried 0",
    ]
    assert console.startswith("Game console: players Alice, Bob, Carol, Dave, Eve;")
    assert "application/vnd.jupyter.widget-view+json" not in str(code[-2].outputs)
    lines = board.splitlines()
    assert lines[0] == "Leaderboard"
    assert [line.split()[1] for line in lines[2:]][2:] == ["Alice", "Bob"]
    assert {line.split()[1] for line in lines[2:4]} == {"Carol", "Dave"}
    assert threads == "(False, 2, [])"  # bounded: two steps, joined, no thread left
