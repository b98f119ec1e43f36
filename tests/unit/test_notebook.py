"""In a notebook, the kit's errors read as one line yet still fail the cell."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from streamlab import notebook
from streamlab.errors import ExerciseNotDone


@pytest.fixture
def shell() -> InteractiveShell:
    shell = InteractiveShell.instance()
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_lab_error_shows_as_one_line_and_the_cell_still_fails(shell, capsys) -> None:
    assert notebook.install_error_display(shell)
    result = shell.run_cell(
        "import streamlab\nraise streamlab.ExerciseNotDone('9.9', 'write the answer')"
    )
    assert isinstance(result.error_in_exec, ExerciseNotDone)  # the cell counts as failed
    shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(shown) == 1
    assert "ExerciseNotDone" in shown[0]
    assert "Exercise 9.9 is not done yet: write the answer" in shown[0]
    ExerciseNotDone.pending.pop("9.9", None)


def test_other_errors_keep_their_traceback(shell, capsys) -> None:
    notebook.install_error_display(shell)
    result = shell.run_cell("def f():\n    return 1 / 0\nf()")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "Traceback" in capsys.readouterr().out


def test_outside_ipython_nothing_is_installed() -> None:
    assert notebook.install_error_display() is False


def test_one_line_names_the_error() -> None:
    assert notebook.one_line(ValueError("bad")) == "ValueError: bad"
