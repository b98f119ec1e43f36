"""streamlab: the helper package the labs import.

``connect()`` gives a notebook its backend (the local emulator by default, or a
real AWS account with ``LAB_BACKEND=aws``); the other modules are the labs'
vocabulary for tables, streams, functions, logs and checks.
"""

from streamlab._version import __version__
from streamlab.aws.session import Lab, connect
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone
from streamlab.config import LabConfig, load_config
from streamlab.errors import LabError

__all__ = [
    "CheckFailed",
    "ExerciseNotDone",
    "Lab",
    "LabConfig",
    "LabError",
    "__version__",
    "connect",
    "load_config",
    "load_ipython_extension",
    "load_magics",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext streamlab``: registers the ``%%lambda_function`` cell magic."""
    from streamlab.jupyter.magics import load_ipython_extension as load

    load(ipython)


def load_magics() -> None:
    """Registers the kit's magics in the running notebook (a no-op outside IPython)."""
    from streamlab.jupyter.magics import load_magics as load

    load()


def _load_magics_in_ipython() -> None:
    """``import streamlab`` in a notebook makes ``%%lambda_function`` available at once,
    so a function cell run before the connect cell deploys instead of "magic not found"."""
    import sys

    if "IPython" in sys.modules:  # never import IPython where nobody uses it
        load_magics()


_load_magics_in_ipython()
