"""Everything an exercise is, in one place: its line, its stub, its state, its checks' output.

**The exercise line.** In a solution notebook each answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` after a line
``# Exercise N.M: what to do`` in the same cell (``EXERCISE_LINE``).
``streamlab build-labs`` puts the stub (``stub_lines``) in the answer's place:
a TODO line and ``raise streamlab.ExerciseNotDone("N.M", "what to do")``, so
running an unanswered exercise says what to do in one line. ``parse_stub``
reads the stub back (the ``%%lambda_function`` magic refuses to deploy one).

**The pending state.** Raising ``ExerciseNotDone`` marks its exercise
*pending*; a cell that names the exercise and runs without error
(``forget_answered``, called after every cell by the notebook error display)
or a passing check forgets it. A check that finds the backend unchanged then
says "not done yet" (what to do) while the stub is what ran last, and "wrong"
(what went wrong, with a hint) once the learner has written an answer.

**The failed state.** A check that fails (``CheckFailed``) marks its exercise
*failed* until its check passes. A check that builds on earlier exercises
(``requires``) says first, in one line, which of them is not done
(``ExerciseNotDone``) or failed its check (``EarlierExerciseFailed``), before it
probes or waits for anything: lab 04's totals are wrong because of a wrong
mapping, not because of the scan, and waiting a minute for them teaches nothing.
The state is this module's alone; other modules ask through its functions.

**Checks.** A check never trusts the notebook's variables when the backend can
answer (a table's key schema, an item, a stream's view type). It prints
``PASS 1.2: ...`` (``passed``), or raises ``CheckFailed`` with what is wrong and
a hint (``fail``), or ``ExerciseNotDone`` when the exercise's stub ran last.
Both are ``LabError``s, which notebooks show as one line, never as a
traceback. Checks that test a function the learner wrote call it
(``call_learner``) with a few inputs and compare with the kit's own answer; an
error inside the learner's function is reported as one line, with the hint.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from streamlab.checks.deadline import LEARNER_CODE_SECONDS, DeadlinePassed, deadline
from streamlab.errors import LabError

# ``# Exercise 1.2: create ORDERS ...``: names the exercise whose answer follows in the cell.
EXERCISE_LINE = re.compile(r"^\s*# Exercise (?P<number>\d+\.\d+): (?P<instruction>\S.*?)\s*$")
# The stub's first line, above the ``raise``.
TODO_LINE = "# TODO: write your code here (in place of the line below), then run the cell."
# The stub's ``raise`` line, as ``stub_lines`` writes it.
STUB_RAISE = re.compile(r"^\s*raise streamlab\.ExerciseNotDone\((?P<args>.*)\)\s*$", re.MULTILINE)
# A check call's ``exercise="N.M"`` argument.
CHECK_EXERCISE_ARGUMENT = re.compile(r"exercise=\"(?P<number>\d+\.\d+)\"")

# Exercise number -> instruction, for every exercise whose stub ran and was not answered since.
_pending: dict[str, str] = {}
# Exercise number -> the problem its check found, for every exercise whose check failed and has
# not passed since.
_failed: dict[str, str] = {}


class ExerciseNotDone(LabError):
    """An exercise stub ran: the learner has not written that answer yet.

    Raising it marks the exercise pending (see the module docstring) until a
    cell naming the exercise runs without error or its check passes.
    """

    def __init__(self, exercise: str, instruction: str) -> None:
        self.exercise = exercise
        self.instruction = instruction
        _pending[exercise] = instruction
        super().__init__(
            f"Exercise {exercise} is not done yet: {instruction} "
            "(replace the TODO in its cell with your code, then run that cell again)"
        )


class CheckFailed(LabError):
    """An exercise's check found the backend not as the exercise asks; the hint says why."""

    def __init__(self, exercise: str, problem: str, hint: str = "") -> None:
        self.exercise = exercise
        self.problem = problem
        self.hint = hint
        _failed[exercise] = problem
        super().__init__(f"Exercise {exercise}: {problem}" + (f" Hint: {hint}" if hint else ""))


class EarlierExerciseFailed(CheckFailed):
    """A check builds on an earlier exercise whose check failed: that comes first.

    It marks the dependent exercise failed too (it has not passed)."""

    def __init__(self, exercise: str, earlier: str) -> None:
        super().__init__(
            exercise,
            f"exercise {earlier} failed its check: fix it and run its check again first, "
            "then this one.",
        )
        self.earlier = earlier


# --- the exercise line and the stub ---------------------------------------------------------


def exercise_numbers(source: str) -> list[str]:
    """The numbers of the exercises a cell's text names with an exercise line."""
    return [match["number"] for line in source.split("\n") if (match := EXERCISE_LINE.match(line))]


def stub_lines(number: str, instruction: str, indent: str) -> list[str]:
    """The TODO stub that replaces an answer, at the answer's indentation."""
    return [
        f"{indent}{TODO_LINE}",
        f"{indent}raise streamlab.ExerciseNotDone({number!r}, {instruction!r})",
    ]


def parse_stub(source: str) -> tuple[str, str] | None:
    """``(number, instruction)`` of the first stub in ``source``, or None when it holds none."""
    match = STUB_RAISE.search(source)
    if not match:
        return None
    try:
        number, instruction = ast.literal_eval(f"({match['args']},)")
    except (ValueError, SyntaxError):
        return None
    return str(number), str(instruction)


def raise_if_stub(source: str) -> None:
    """Raise the stub's ``ExerciseNotDone`` when ``source`` still holds one."""
    stub = parse_stub(source)
    if stub is not None:
        raise ExerciseNotDone(*stub)


def is_stub_function(function: Any) -> bool:
    """True when a learner's function is still the lab's stub (its body raises
    ``ExerciseNotDone``): calling it costs nothing and says "not done yet"."""
    code = getattr(function, "__code__", None)
    return code is not None and "ExerciseNotDone" in code.co_names


def checked_exercises_in(source: str) -> list[str]:
    """The exercise numbers a check cell's calls name (their ``exercise="N.M"`` arguments)."""
    return [match["number"] for match in CHECK_EXERCISE_ARGUMENT.finditer(source)]


# --- the pending state --------------------------------------------------------------------


def is_pending(exercise: str) -> bool:
    """True while the exercise's stub is what ran last."""
    return exercise in _pending


def mark_pending(exercise: str, instruction: str) -> None:
    """Remember that the exercise's stub ran (what raising ``ExerciseNotDone`` does)."""
    _pending[exercise] = instruction


def forget(exercise: str) -> None:
    """The exercise was answered: its failing check should now say what is wrong."""
    _pending.pop(exercise, None)


def forget_all() -> None:
    """Start from no pending and no failed exercise (a fresh kernel; tests)."""
    _pending.clear()
    _failed.clear()


def has_failed(exercise: str) -> bool:
    """True while the exercise's check failed last (it has not passed since)."""
    return exercise in _failed


def forget_answered(source: str) -> None:
    """A cell ran without error: every exercise its exercise lines name is answered."""
    for number in exercise_numbers(source):
        forget(number)


def raise_if_not_done(exercises: Iterable[str]) -> None:
    """Raise "not done yet" for the first of ``exercises`` whose stub ran last."""
    for exercise in exercises:
        if exercise in _pending:
            raise ExerciseNotDone(exercise, _pending[exercise])


def raise_if_earlier_not_passed(exercise: str, requires: Iterable[str]) -> None:
    """Before a check of ``exercise`` that builds on ``requires`` probes or waits: raise
    "not done yet" for the exercise itself or the first of ``requires`` whose stub ran last,
    else ``EarlierExerciseFailed`` for the first of ``requires`` whose check failed last."""
    requires = list(requires)
    raise_if_not_done([exercise, *requires])
    raise_if_earlier_failed(exercise, requires)


def raise_if_earlier_failed(exercise: str, requires: Iterable[str]) -> None:
    """Raise ``EarlierExerciseFailed`` for the first of ``requires`` whose check failed last
    (for a check that does not need them done, only not wrong: lab 05 stands the kit's
    aggregator in for an undone 5.1, never for a wrong one)."""
    for earlier in requires:
        if earlier in _failed and earlier != exercise:
            raise EarlierExerciseFailed(exercise, earlier)


# --- what checks print and raise ----------------------------------------------------------


def passed(exercise: str, message: str) -> None:
    """Print the PASS line and forget that the exercise's stub ran or its check failed."""
    forget(exercise)
    _failed.pop(exercise, None)
    print(f"PASS {exercise}: {message}")


def fail(exercise: str, problem: str, hint: str = "") -> NoReturn:
    """Raise "not done yet" if the exercise's stub ran last, else the problem and a hint."""
    raise_if_not_done([exercise])
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


