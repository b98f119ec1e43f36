"""The rules every exercise check follows: one PASS line, or one line that teaches.

A check never trusts the notebook's variables when the backend can answer (a
table's key schema, an item, a stream's view type). It prints
``PASS 1.2: ...`` when all is well. Otherwise it raises ``CheckFailed`` with
what is wrong and a hint, or, when the exercise's TODO stub is what ran,
``ExerciseNotDone`` with the exercise's instruction. Both are ``LabError``s,
which notebooks show as one line, never as a traceback.

Checks that test a function the learner wrote call it (``call_learner``) with a
few inputs and compare with the kit's own answer; an error inside the learner's
function is reported as one line, with the hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from streamlab.checks.deadline import LEARNER_CODE_SECONDS, DeadlinePassed, deadline
from streamlab.errors import CheckFailed, ExerciseNotDone


def passed(exercise: str, message: str) -> None:
    """Print the PASS line and forget that the exercise's stub ever ran."""
    ExerciseNotDone.pending.pop(exercise, None)
    print(f"PASS {exercise}: {message}")


def fail(exercise: str, problem: str, hint: str = "") -> NoReturn:
    """Raise "not done yet" if the exercise's stub ran last, else the problem and a hint."""
    if exercise in ExerciseNotDone.pending:
        raise ExerciseNotDone(exercise, ExerciseNotDone.pending[exercise])
    raise CheckFailed(exercise, problem, hint)


def call_learner(
    exercise: str,
    function: Callable[..., Any],
    *args: Any,
    hint: str = "",
    seconds: float = LEARNER_CODE_SECONDS,
    too_slow: str = "",
) -> Any:
    """Call the learner's function; its own error becomes one line (stubs pass through),
    and so does a function that runs past ``seconds`` (``too_slow`` says what to change)."""
    if not callable(function):
        fail(exercise, f"expected a function, got {type(function).__name__}.", hint)
    name = getattr(function, "__name__", "your function")
    try:
        with deadline(seconds):
            return function(*args)
    except DeadlinePassed:
        fail(exercise, f"{name} did not return within {seconds:g} s.", too_slow or hint)
    except ExerciseNotDone:
        raise
    except Exception as exc:  # the learner's bug: say which, in one line
        error = getattr(exc, "response", {}).get("Error", {})
        if error:
            text = f"{error.get('Code')}: {error.get('Message')}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        fail(exercise, f"{name} raised {text}", hint)


