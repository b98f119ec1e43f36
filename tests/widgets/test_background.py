"""streamlab.widgets.background: test mode, the stoppable refresh loop, one-line errors."""

from __future__ import annotations

import threading

import botocore.exceptions
import pytest

from streamlab.errors import LabError
from streamlab.widgets import background
from streamlab.widgets.background import RefreshLoop, error_line


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_test_mode_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("LAB_TEST_MODE", value)
    assert background.test_mode() is expected


def test_a_bounded_loop_runs_exactly_its_steps_and_ends() -> None:
    calls: list[str] = []
    loop = RefreshLoop(
        lambda: calls.append(threading.current_thread().name),
        interval=0.01,
        max_steps=3,
        name="t-loop",
    ).start()
    loop.join(timeout=10)
    assert not loop.running
    assert calls == ["t-loop"] * 3  # ran in its own thread, three times


def test_a_failing_step_is_counted_not_raised_and_the_loop_goes_on() -> None:
    def step() -> None:
        raise RuntimeError("boom")

    loop = RefreshLoop(step, interval=0.01, max_steps=2).start()
    loop.join(timeout=10)
    assert loop.steps == 2 and loop.failures == 2


def test_stop_ends_an_unbounded_loop_and_stop_all_reaches_every_loop() -> None:
    ticks = threading.Event()
    loops = [RefreshLoop(ticks.set, interval=0.01).start() for _ in range(2)]
    assert ticks.wait(timeout=10)
    assert all(loop.running for loop in loops)
    background.stop_all()
    assert not any(loop.running for loop in loops)


def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(LabError, match="interval"):
        RefreshLoop(lambda: None, interval=0)


def test_error_line_is_one_line_for_every_kind_of_failure() -> None:
    client_error = botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "no\nway"}}, "Scan"
    )
    unreachable = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert error_line(client_error) == "AccessDenied: no"
    assert "is the emulator running" in error_line(unreachable)
    assert error_line(LabError("fix it")) == "fix it"
    assert error_line(ValueError("")) == "ValueError:"
