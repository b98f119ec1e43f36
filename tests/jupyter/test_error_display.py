"""In a notebook, the kit's errors read as one line yet still fail the cell."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from streamlab.checks import exercise
from streamlab.checks.exercise import ExerciseNotDone
from streamlab.jupyter import error_display


@pytest.fixture
def shell() -> InteractiveShell:
    shell = InteractiveShell.instance()
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_lab_error_shows_as_one_line_and_the_cell_still_fails(shell, capsys) -> None:
    assert error_display.install_error_display(shell)
    result = shell.run_cell(
        "import streamlab\nraise streamlab.ExerciseNotDone('9.9', 'write the answer')"
    )
    assert isinstance(result.error_in_exec, ExerciseNotDone)  # the cell counts as failed
    shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(shown) == 1
    assert "ExerciseNotDone" in shown[0]
    assert "Exercise 9.9 is not done yet: write the answer" in shown[0]
    exercise.forget("9.9")


def test_other_errors_keep_their_traceback(shell, capsys) -> None:
    error_display.install_error_display(shell)
    result = shell.run_cell("def f():\n    return 1 / 0\nf()")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "Traceback" in capsys.readouterr().out


def test_outside_ipython_nothing_is_installed() -> None:
    assert error_display.install_error_display() is False


def test_one_line_names_the_error() -> None:
    assert error_display.one_line(ValueError("bad")) == "ValueError: bad"


def test_an_answered_exercise_is_no_longer_pending(shell) -> None:
    error_display.install_error_display(shell)
    error_display.install_error_display(shell)  # connect() may run twice: one callback only
    assert (
        shell.events.callbacks["post_run_cell"].count(error_display._forget_answered_exercises) == 1
    )
    stub = (
        "# Exercise 9.8: do it\nimport streamlab\nraise streamlab.ExerciseNotDone('9.8', 'do it')"
    )
    shell.run_cell(stub)
    assert exercise.is_pending("9.8")
    shell.run_cell("# Exercise 9.8: do it\nanswer = 1 / 0")  # a failing answer: still pending
    assert exercise.is_pending("9.8")
    shell.run_cell("# Exercise 9.8: do it\nanswer = 42")
    assert not exercise.is_pending("9.8")


def test_a_persisting_aws_throttle_says_what_to_do_in_a_few_lines(shell, capsys) -> None:
    error_display.install_error_display(shell)
    result = shell.run_cell(
        "from botocore.exceptions import ClientError\n"
        "raise ClientError({'Error': {'Code': 'ThrottlingException', 'Message': 'Rate exceeded'}},"
        " 'FilterLogEvents')"
    )
    assert result.error_in_exec is not None  # the cell still fails
    shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(shown) <= 3 and "Traceback" not in "\n".join(shown)
    assert "throttling FilterLogEvents" in shown[-1] and "run the cell again" in shown[-1]
