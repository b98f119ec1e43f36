"""``%%lambda_function`` is there from a kernel's first cell: after ``import streamlab``, and
in every kernel of ``streamlab lab`` (its start-up file), even before any cell ran."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from streamlab.jupyter import launcher
from streamlab.tooling.run_notebooks import execute

FUNCTION_CELL = (
    "%%lambda_function startup-check\ndef lambda_handler(event, context):\n    return 1\n"
)
NOT_FOUND = "Cell magic `%%lambda_function` not found"


def _printed(result) -> str:
    return "".join(o.get("text", "") for c in result.notebook.cells for o in c.get("outputs", []))


def _run(cells: list[str], tmp_path: Path, **env: str):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    return execute(nb, env=env, cwd=tmp_path, allow_errors=True, timeout=120)


@pytest.mark.usefixtures("emulator")
def test_the_magic_works_right_after_import_streamlab(tmp_path: Path) -> None:
    result = _run(["import streamlab", FUNCTION_CELL], tmp_path)
    assert not result.failures, result.failures
    assert NOT_FOUND not in _printed(result)


@pytest.mark.usefixtures("emulator")
def test_streamlab_lab_kernels_have_the_magic_before_any_cell(tmp_path: Path) -> None:
    without = _run([FUNCTION_CELL], tmp_path, PYTHONSTARTUP="")
    assert NOT_FOUND in _printed(without)  # IPython's own message, which says nothing to do
    env = launcher._jupyter_environment()
    result = _run([FUNCTION_CELL], tmp_path, PYTHONSTARTUP=env["PYTHONSTARTUP"])
    assert not result.failures, result.failures
    assert NOT_FOUND not in _printed(result)
    assert "startup-check" in _printed(result)  # the deployment's summary line


def test_the_learners_own_startup_file_still_runs(tmp_path: Path, monkeypatch) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("print('mine')\n")
    monkeypatch.setenv("PYTHONSTARTUP", str(mine))
    env = launcher._jupyter_environment()
    assert env["PYTHONSTARTUP"] == str(launcher.KERNEL_STARTUP)
    assert env[launcher.USER_STARTUP_VARIABLE] == str(mine)
