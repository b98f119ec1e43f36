"""Whether a live frontend can show widgets, or they must render static snapshots."""

from __future__ import annotations

import os

TEST_MODE_VARIABLE = "LAB_TEST_MODE"


def test_mode() -> bool:
    """``LAB_TEST_MODE=1``: set by the test run and inherited by its notebook kernels."""
    return os.environ.get(TEST_MODE_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


test_mode.__test__ = False  # not a pytest test


def headless() -> bool:
    """True in test mode, or when there is no IPython kernel (plain Python, a script)."""
    if test_mode():
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or not hasattr(shell, "kernel")
