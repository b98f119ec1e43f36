"""Bounded waits that say what they wait for, and AWS throttling told in one line.

On AWS a table, a mapping or a log line can take minutes to appear, and a
silent cell for minutes looks like a hung kernel. Every wait of the kit goes
through ``Wait``: after ``QUIET_SECONDS`` it prints, in plain text (so a
terminal, a notebook and nbval all see it), what it waits for, the time so far
and its limit; at the limit it raises ``WaitTimedOut``, one line that says what
to do. Polling is spread out (jitter) and backed off, and a throttled poll is
simply a poll that found nothing yet, so a room of fifty sharing one account's
quotas slows down instead of failing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from streamlab.errors import LabError

#: A wait shorter than this prints nothing (the course promises progress for any wait over 3 s).
QUIET_SECONDS = 3.0
#: Then a progress line at most this often.
REPORT_EVERY = 15.0
#: A throttled look doubles the interval, up to this (or the wait's own maximum if larger).
THROTTLED_INTERVAL = 20.0
#: Error codes AWS uses when an account's (or an API's) request rate is exceeded.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",  # DynamoDB Streams and CloudWatch Logs rate limits
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)


def _now() -> float:
    return time.monotonic()


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _say(line: str) -> None:
    print(line, flush=True)


class WaitTimedOut(LabError):
    """A bounded wait reached its limit; the message says what it waited for and what to do."""


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ("" for anything else)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


#: LimitExceededException also answers a GetRecords ``Limit`` above 1000: a mistake, no throttle
NOT_A_THROTTLE = "more than 1000 for the limit"


def is_throttle(exc: BaseException) -> bool:
    """Whether ``exc`` says "too many requests" (worth waiting and retrying, not a bug)."""
    if error_code(exc) not in THROTTLING_CODES:
        return False
    assert isinstance(exc, botocore.exceptions.ClientError)
    return NOT_A_THROTTLE not in str(exc.response.get("Error", {}).get("Message", ""))


def throttle_message(exc: BaseException) -> str | None:
    """The one line a learner reads when AWS keeps throttling a call; None if ``exc`` is not."""
    if not is_throttle(exc):
        return None
    assert isinstance(exc, botocore.exceptions.ClientError)
    operation = getattr(exc, "operation_name", "") or "the call"
    return (
        f"AWS is throttling {operation} ({error_code(exc)}): the account's request rate is "
        "shared by everyone on it and was exceeded even after retries; wait a minute and run "
        "the cell again (instructors: stagger the room, or raise the quota)."
    )


class Wait:
    """One bounded wait: sleeps between looks, prints progress, gives up with advice.

    ``what`` completes "waiting for ...", ``advice`` is what to do when the
    limit is reached. ``pause(status)`` is called after each look that did not
    find what was wanted; it raises ``WaitTimedOut`` once ``limit`` seconds have
    passed, and otherwise sleeps ``interval`` (growing by ``backoff`` up to
    ``max_interval``, with jitter so that many learners do not poll in step).
    """

    def __init__(
        self,
        what: str,
        limit: float,
        advice: str,
        *,
        interval: float = 1.0,
        max_interval: float | None = None,
        backoff: float = 1.0,
        jitter: float = 0.0,
        quiet: float = QUIET_SECONDS,
        report_every: float = REPORT_EVERY,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.what = what
        self.limit = limit
        self.advice = advice
        self.interval = interval
        self.max_interval = max_interval if max_interval is not None else interval
        self.backoff = backoff
        self.jitter = jitter
        self.quiet = quiet
        self.report_every = report_every
        self._clock = clock or _now
        self._sleep = sleep or _pause
        self._out = out or _say
        self._started = self._clock()
        self._next_report = self._started + quiet
        self.reported = False
        self.looks = 0

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def now(self) -> float:
        """The wait's clock (one reading, to pass on to ``remaining`` and ``pause``)."""
        return self._clock()

    def remaining(self, now: float | None = None) -> float:
        now = self._clock() if now is None else now
        return self.limit - (now - self._started)

    def pause(self, status: str = "", *, now: float | None = None) -> None:
        """Not there yet: give up at the limit, else report (when due) and sleep."""
        self.looks += 1
        now = self._clock() if now is None else now
        elapsed = now - self._started
        if elapsed >= self.limit:
            state = f" ({status})" if status else ""
            raise WaitTimedOut(
                f"Gave up waiting for {self.what}{state} after {elapsed:.0f} s "
                f"(limit {self.limit:.0f} s): {self.advice}"
            )
        if now >= self._next_report:
            state = f": {status}" if status else ""
            self._out(f"waiting for {self.what}{state} ({elapsed:.0f} s of {self.limit:.0f} s)")
            self.reported = True
            self._next_report = now + self.report_every
        delay = self.interval
        if self.jitter:
            delay *= random.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        self._sleep(max(0.0, min(delay, self.limit - elapsed)))
        self.interval = min(self.interval * self.backoff, self.max_interval)

    def done(self) -> None:
        """Found it: after a reported wait, say so, so the last line is not "waiting"."""
        if self.reported:
            self._out(f"done waiting for {self.what} ({self.elapsed:.0f} s)")

    def look(self, probe: Callable[[], Any], status: str = "throttled, retrying") -> Any:
        """``probe()``, or None when AWS throttled it (a throttled look found nothing yet)."""
        try:
            return probe()
        except botocore.exceptions.ClientError as exc:
            if not is_throttle(exc):
                raise
            self.interval = min(self.interval * 2, max(self.max_interval, THROTTLED_INTERVAL))
            return None


def poll_until(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    *,
    what: str,
    limit: float,
    interval: float,
    status: Callable[[Any], str] = lambda _result: "",
    max_interval: float | None = None,
    backoff: float = 1.0,
    jitter: float = 0.0,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Any:
    """``probe()`` until ``done(result)`` or ``limit`` seconds: the last result either way.

    For waits whose caller judges the outcome (a comparison that says what still
    differs): it prints progress like every wait but never raises at the limit.
    A throttled probe counts as "not yet" (the previous result is kept).
    """
    wait = Wait(
        what,
        limit,
        "",
        interval=interval,
        max_interval=max_interval,
        backoff=backoff,
        jitter=jitter,
        clock=clock,
        sleep=sleep,
    )
    result: Any = None
    seen = False
    while True:
        answer = wait.look(probe)
        if answer is not None or not seen:
            result, seen = answer, seen or answer is not None
        if seen and done(result):
            wait.done()
            return result
        now = wait.now()  # one reading per look, for the limit and the pause alike
        if wait.remaining(now) <= 0:
            if seen:
                return result
            return probe()  # throttled throughout: one last look, its error the learner's
        wait.pause(status(result) if seen else "throttled", now=now)
