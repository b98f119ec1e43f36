"""Notebook niceties: a ``LabError`` shows as one line, not as a stack.

A learner who meets "Exercise 1.2 is not done yet: ..." or a check's hint
should read that sentence, not twenty lines of frames from inside the helper;
so should one whose call AWS kept throttling after every retry (a room shares
the account's request rates).
IPython's custom exception handler prints the one line while the exception
still propagates, so the cell counts as failed (Run All stops there, nbval and
nbclient see an error) exactly as with a normal traceback.

It also notices when an exercise's cell runs without error (the learner replaced
the stub), so that the exercise's check then explains what is wrong instead of
repeating "not done yet".
"""

from __future__ import annotations

from typing import Any

from streamlab.checks.exercise import forget_answered
from streamlab.errors import LabError
from streamlab.jupyter import aws_errors

_RED = "\x1b[0;31m"
_RESET = "\x1b[0m"


def one_line(error: BaseException) -> str:
    """``ExerciseNotDone: Exercise 1.2 is not done yet: ...`` for any exception."""
    return f"{type(error).__name__}: {error}"


def _show_lab_error(
    shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    # IPython leaves the showing to the handler; _showtraceback is the one place that both
    # prints (terminal) and sends the kernel's "error" message (notebook, nbclient, nbval).
    structured = [f"{_RED}{etype.__name__}{_RESET}: {value}"]
    shell._showtraceback(etype, value, structured)
    return structured


def _is_cell(shell: Any) -> Any:
    """Tells a notebook cell's code (the learner's) from library code, by file name."""
    cells = getattr(getattr(shell, "compile", None), "_filename_map", {})

    def is_cell(filename: str) -> bool:
        return (
            filename in cells
            or filename.startswith("<ipython-input")
            or "/ipykernel_" in filename
        )

    return is_cell


def _show_error(
    shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """The kit's errors in one line; an AWS error in a few (see ``aws_errors``)."""
    if isinstance(value, LabError):
        return _show_lab_error(shell, etype, value, tb, tb_offset)
    lines = aws_errors.describe(value, tb, _is_cell(shell))
    structured = [f"{_RED}{lines[0].split(':', 1)[0]}{_RESET}:{lines[0].split(':', 1)[1]}"]
    structured += lines[1:]
    shell._showtraceback(etype, value, structured)
    return structured


def install_error_display(shell: Any | None = None) -> bool:
    """Show ``LabError`` as one line and AWS errors in a few, in this IPython session.

    Returns False outside IPython.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # plain Python: nothing to install
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((LabError, *aws_errors.AWS_ERRORS), _show_error)
    if _forget_answered_exercises not in shell.events.callbacks.get("post_run_cell", []):
        shell.events.register("post_run_cell", _forget_answered_exercises)
    return True


def _forget_answered_exercises(result: Any) -> None:
    """An exercise's cell ran without error: its stub is gone, so a failing check should
    now explain what is wrong (CheckFailed) rather than say "not done yet"."""
    if not result.success:
        return
    forget_answered(getattr(result.info, "raw_cell", "") or "")
