"""What every check test starts from: no exercise pending or failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamlab.checks import exercise


@pytest.fixture(autouse=True)
def no_pending() -> Iterator[None]:
    """Exercise state is per kernel (module-level): each test starts and ends with none."""
    exercise.forget_all()
    yield
    exercise.forget_all()
