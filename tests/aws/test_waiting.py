"""Bounded waits: silent when short, progress in plain text when long, one line at the limit."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from streamlab.aws.waiting import Wait, WaitTimedOut, is_throttle, poll_until, throttle_message


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _wait(clock: FakeClock, lines: list[str], **kwargs) -> Wait:
    return Wait(
        "table T to be ACTIVE",
        60.0,
        "run the cell again.",
        clock=clock,
        sleep=clock.sleep,
        out=lines.append,
        **kwargs,
    )


def test_a_short_wait_prints_nothing() -> None:
    clock, lines = FakeClock(), []
    wait = _wait(clock, lines, interval=1.0)
    for _ in range(3):  # looks at 0, 1, 2 s
        wait.pause("still CREATING")
    wait.done()
    assert lines == []


def test_a_wait_of_four_seconds_already_says_what_it_waits_for() -> None:
    clock, lines = FakeClock(), []
    wait = _wait(clock, lines, interval=1.0)
    for _ in range(5):  # looks at 0, 1, ... 4 s
        wait.pause("still CREATING")
    wait.done()
    assert lines[0] == "waiting for table T to be ACTIVE: still CREATING (3 s of 60 s)"
    assert lines[-1].startswith("done waiting for table T to be ACTIVE")


def test_a_long_wait_says_what_it_waits_for_time_so_far_and_limit() -> None:
    clock, lines = FakeClock(), []
    wait = _wait(clock, lines, interval=1.0, report_every=10.0)
    for _ in range(26):  # looks at 0, 1, ... 25 s
        wait.pause("still CREATING")
    wait.done()
    assert lines[0] == "waiting for table T to be ACTIVE: still CREATING (3 s of 60 s)"
    assert len(lines) == 4  # at 3, 13, 23 s, then "done"
    assert lines[-1].startswith("done waiting for table T to be ACTIVE")


def test_the_limit_ends_in_one_line_that_says_what_to_do() -> None:
    clock, lines = FakeClock(), []
    wait = _wait(clock, lines, interval=7.0)
    with pytest.raises(WaitTimedOut) as raised:
        while True:
            wait.pause("still CREATING")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("Gave up waiting for table T to be ACTIVE (still CREATING)")
    assert "limit 60 s" in message and message.endswith("run the cell again.")
    assert clock.now == pytest.approx(60.0)  # never sleeps past the limit


def test_backoff_grows_the_interval_up_to_its_maximum() -> None:
    clock, lines = FakeClock(), []
    wait = _wait(clock, lines, interval=1.0, backoff=2.0, max_interval=5.0)
    for _ in range(5):
        wait.pause()
    assert clock.now == pytest.approx(1 + 2 + 4 + 5 + 5)


def _throttle(code: str = "ThrottlingException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, "DescribeStream")


def test_a_throttled_look_found_nothing_yet_and_slows_down() -> None:
    clock, lines = FakeClock(), []
    wait = _wait(clock, lines, interval=1.0)

    def probe() -> str:
        raise _throttle()

    assert wait.look(probe) is None
    assert wait.interval == 2.0


def test_other_errors_are_not_swallowed_by_a_look() -> None:
    wait = _wait(FakeClock(), [])

    def probe() -> str:
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "DescribeTable")

    with pytest.raises(ClientError):
        wait.look(probe)


def test_a_persisting_throttle_reads_as_one_line_with_what_to_do() -> None:
    assert is_throttle(_throttle("LimitExceededException"))
    message = throttle_message(_throttle())
    assert message is not None and "\n" not in message
    assert "DescribeStream" in message and "run the cell again" in message
    assert throttle_message(ClientError({"Error": {"Code": "ValidationException"}}, "X")) is None


def test_poll_until_returns_the_last_result_at_the_limit_for_the_caller_to_judge(
    monkeypatch,
) -> None:
    from streamlab.aws import waiting

    clock, lines = FakeClock(), []
    monkeypatch.setattr(waiting, "_say", lines.append)
    results = iter(range(100))
    last = poll_until(
        lambda: next(results),
        lambda n: n >= 1000,
        what="the totals to match",
        limit=20.0,
        interval=2.0,
        status=lambda n: f"{n} counted",
        clock=clock,
        sleep=clock.sleep,
    )
    assert last == 10 and clock.now == pytest.approx(20.0)  # never raises, never hangs
    assert lines[0] == "waiting for the totals to match: 2 counted (4 s of 20 s)"


def test_poll_until_keeps_the_previous_result_when_a_look_is_throttled(monkeypatch) -> None:
    from streamlab.aws import waiting

    clock, lines = FakeClock(), []
    monkeypatch.setattr(waiting, "_say", lines.append)
    answers = iter([1, _throttle(), _throttle(), 3])

    def probe() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    found = poll_until(
        probe, lambda n: n == 3, what="x", limit=60.0, interval=2.0, clock=clock, sleep=clock.sleep
    )
    assert found == 3


def test_throttles_slow_the_polling_down_to_a_bound_not_forever() -> None:
    wait = _wait(FakeClock(), [], interval=1.0)

    def probe() -> str:
        raise _throttle()

    for _ in range(10):
        wait.look(probe)
    assert wait.interval == 20.0
