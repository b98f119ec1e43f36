"""Errors a learner reads: one line that says what is wrong and what to do.

Every failure the kit expects (bad settings, an emulator that is not there, a
missing AWS credential) is raised as a ``LabError`` so that notebooks and the
command line can show the message alone instead of a stack from deep inside
boto3 or moto.

The two errors an exercise raises, ``ExerciseNotDone`` and ``CheckFailed``, are
``LabError``s too; they live with the rest of the exercise rules in
``streamlab.checks.exercise``.
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
