"""Errors a learner reads: one line that says what is wrong and what to do.

Every failure the kit expects (bad settings, an emulator that is not there, a
missing AWS credential) is raised as a ``LabError`` so that notebooks and the
command line can show the message alone instead of a stack from deep inside
boto3 or moto.
"""

from __future__ import annotations


class LabError(Exception):
    """A problem the learner can fix; the message says how."""


class ConfigError(LabError):
    """A ``LAB_*`` variable has a value the kit cannot use."""


class EmulatorError(LabError):
    """The local emulator is missing, foreign, or failed to start."""


class CredentialsError(LabError):
    """The aws backend has no usable credentials or region."""


class ExerciseNotDone(LabError):
    """An exercise stub ran: the learner has not written that answer yet.

    Every instance remembers its exercise in ``pending`` until the exercise's
    check passes, so a check that finds the backend unchanged can say "not done
    yet" (what to do) instead of "wrong" (what went wrong).
    """

    pending: dict[str, str] = {}

    def __init__(self, exercise: str, instruction: str) -> None:
        self.exercise = exercise
        self.instruction = instruction
        ExerciseNotDone.pending[exercise] = instruction
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
        super().__init__(f"Exercise {exercise}: {problem}" + (f" Hint: {hint}" if hint else ""))
