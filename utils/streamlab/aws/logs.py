"""A function's CloudWatch Logs: one invocation, the latest one, or lines matching a pattern.

Lambda writes ``START RequestId: ID``, the function's own lines, ``END`` and
``REPORT`` into ``/aws/lambda/NAME``. On AWS those lines arrive seconds (at
times a minute) after the invocation, so every reader here waits, up to a
timeout, for what it was asked to find, and says plainly when it gave up.
Locally the runtime writes the lines before the invocation returns, so the
wait ends at the first look. Results are CloudWatch's own event dicts
(``timestamp``, ``message``, ``logStreamName``, ...).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tags
from streamlab.aws.waiting import Wait
from streamlab.errors import LabError

Event = dict[str, Any]
LOCAL_TIMEOUT = 10.0
AWS_TIMEOUT = 120.0
LOCAL_POLL = 0.1
AWS_POLL = 2.0
#: How long the labs' log events are kept (CloudWatch's shortest retention).
LOG_RETENTION_DAYS = 1
START_PREFIX = "START RequestId: "
REPORT_PREFIX = "REPORT RequestId: "


class LogsNotFound(LabError):
    """The log events asked for did not arrive within the timeout."""


def log_group_name(function_name: str) -> str:
    """Lambda's log group for a function (give the full, prefixed name)."""
    return f"/aws/lambda/{function_name}"


def ensure_log_group(lab: Lab, function_name: str) -> str:
    """Create the function's log group (tagged) if missing and give it a retention.

    Lambda creates the group at the first invocation with no retention, so a
    workshop's logs would be kept, and billed, forever; the kit creates it first,
    tagged for cleanup, and keeps events ``LOG_RETENTION_DAYS`` day(s).
    """
    group = log_group_name(function_name)
    client = lab.logs
    try:
        client.create_log_group(logGroupName=group, tags=prefix_tags(lab.prefix))
    except client.exceptions.ResourceAlreadyExistsException:
        pass
    client.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)
    return group


def default_timeout(lab: Lab) -> float:
    return LOCAL_TIMEOUT if lab.backend == "local" else AWS_TIMEOUT


def _poll_interval(lab: Lab) -> float:
    return LOCAL_POLL if lab.backend == "local" else AWS_POLL


def filter_events(
    lab: Lab,
    function_name: str,
    pattern: str = "",
    *,
    start_time: int | None = None,
    stream_names: Sequence[str] = (),
) -> list[Event]:
    """All events of the function's log group matching ``pattern``, oldest first.

    A group that does not exist yet (the function never ran) has no events.
    ``function_name`` is the full name (``lab.name(base)``).
    """
    client = lab.logs
    kwargs: dict[str, Any] = {"logGroupName": log_group_name(function_name)}
    if pattern:
        kwargs["filterPattern"] = pattern
    if start_time is not None:
        kwargs["startTime"] = start_time
    if stream_names:
        kwargs["logStreamNames"] = list(stream_names)
    events: list[Event] = []
    try:
        for page in client.get_paginator("filter_log_events").paginate(**kwargs):
            events.extend(page.get("events", []))
    except client.exceptions.ResourceNotFoundException:
        return []
    if pattern and lab.backend == "local":
        events = [e for e in events if matches_pattern(pattern, e["message"])]
    events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
    return events


def matches_pattern(pattern: str, message: str) -> bool:
    """CloudWatch's term patterns: ``ERROR``, ``"two words"``, ``?A ?B`` (any), ``-term`` (not).

    The emulator's own matcher knows only a plain or a single quoted term and
    lets anything else through; this keeps the local answers honest.
    """
    stripped = pattern.strip()
    if not stripped:
        return True
    if stripped[0] in "{[":
        raise LabError(
            f"The filter pattern {pattern!r} is a JSON or space-delimited pattern, which the "
            'local backend does not evaluate: use terms such as ERROR or "Hello World".'
        )
    try:
        tokens = shlex.split(stripped)
    except ValueError as exc:
        raise LabError(f"The filter pattern {pattern!r} cannot be read: {exc}.") from None
    required = [t for t in tokens if t[0] not in "?-"]
    optional = [t[1:] for t in tokens if t.startswith("?")]
    excluded = [t[1:] for t in tokens if t.startswith("-") and len(t) > 1]
    if any(term in message for term in excluded):
        return False
    if optional and not any(term in message for term in optional):
        return False
    return all(term in message for term in required)


def request_logs(
    lab: Lab,
    function_name: str,
    request_id: str,
    *,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Event]:
    """The events of one invocation, from its START line to its REPORT line.

    Waits until the REPORT line has arrived, since that is when Lambda is done
    writing for that request. A cold start's module output (logged before
    START) and a timeout's last line (after REPORT) are included.
    """
    wait = _Wait(lab, timeout, sleep, clock)
    while True:
        events = wait.look(lambda: _request_events(lab, function_name, request_id), [])
        if _is_complete(events, request_id):
            return events
        wait.next(
            f"No complete log of request {request_id} in {log_group_name(function_name)}"
            + (" (START found, REPORT not yet)" if events else "")
        )


def latest_invocation_logs(
    lab: Lab,
    function_name: str,
    *,
    since: int | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Event]:
    """The events of the most recent invocation that has written its START line.

    ``since`` (epoch milliseconds) ignores older invocations, so a cell can ask
    for "the invocation I just made" even while AWS still delivers it.
    """
    wait = _Wait(lab, timeout, sleep, clock)
    while True:
        starts = wait.look(
            lambda: filter_events(
                lab, function_name, f'"{START_PREFIX.strip()}"', start_time=since
            ),
            [],
        )
        starts = [e for e in starts if e["message"].startswith(START_PREFIX)]
        if starts:
            request_id = request_id_of(starts[-1]["message"])
            remaining = max(wait.remaining(), 0.0)
            return request_logs(
                lab, function_name, request_id, timeout=remaining, sleep=sleep, clock=clock
            )
        wait.next(f"No invocation has logged to {log_group_name(function_name)}")


def find_logs(
    lab: Lab,
    function_name: str,
    pattern: str,
    *,
    since: int | None = None,
    min_count: int = 1,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Event]:
    """Events matching a CloudWatch filter ``pattern``; waits for at least ``min_count``."""
    wait = _Wait(lab, timeout, sleep, clock)
    while True:
        events = wait.look(lambda: filter_events(lab, function_name, pattern, start_time=since), [])
        if len(events) >= min_count:
            return events
        wait.next(
            f"Found {len(events)} of {min_count} log events matching {pattern!r} in "
            f"{log_group_name(function_name)}"
        )


def request_id_of(message: str) -> str:
    """The request id in a START, END or REPORT line."""
    match = re.search(r"RequestId: ([0-9A-Za-z-]+)", message)
    if not match:
        raise ValueError(f"no request id in {message!r}")
    return match[1]


def format_events(events: Sequence[Event]) -> str:
    """The messages as Lambda printed them, one event per line."""
    return "\n".join(e["message"].rstrip("\n") for e in events)


def print_events(events: Sequence[Event]) -> None:
    print(format_events(events))


def _request_events(lab: Lab, function_name: str, request_id: str) -> list[Event]:
    """One request's events: its START line names the stream to read.

    From START to REPORT, plus the lines Lambda writes after REPORT for the
    same request (``... Task timed out after 3.00 seconds``), plus, for the
    first request of an execution environment (a cold start), what the module
    printed while it was imported, which Lambda logs before that START.
    """
    start_line = f"{START_PREFIX}{request_id}"
    starts = [
        e
        for e in filter_events(lab, function_name, f'"{start_line}"')
        if e["message"].startswith(start_line)
    ]
    if not starts:
        return []
    before: list[Event] = []
    collected: list[Event] = []
    earlier_start = False
    reported = False
    for event in _stream_events(lab, function_name, starts[0]["logStreamName"]):
        message = event["message"]
        if not collected:
            if message.startswith(start_line):
                collected = ([] if earlier_start else before) + [event]
            else:
                earlier_start = earlier_start or message.startswith(START_PREFIX)
                before.append(event)
            continue
        if message.startswith(START_PREFIX) or (reported and request_id not in message):
            break
        collected.append(event)
        reported = reported or message.startswith(f"{REPORT_PREFIX}{request_id}")
    return collected


def _is_complete(events: Sequence[Event], request_id: str) -> bool:
    return any(e["message"].startswith(f"{REPORT_PREFIX}{request_id}") for e in events)


def _stream_events(lab: Lab, function_name: str, stream_name: str) -> Iterator[Event]:
    """A stream's events from its head, following forward tokens to the end."""
    kwargs: dict[str, Any] = {
        "logGroupName": log_group_name(function_name),
        "logStreamName": stream_name,
        "startFromHead": True,
    }
    token = None
    while True:
        if token:
            kwargs["nextToken"] = token
        page = lab.logs.get_log_events(**kwargs)
        for event in page.get("events", []):
            yield {**event, "logStreamName": stream_name}
        new_token = page.get("nextForwardToken")
        if not page.get("events") or new_token == token:
            return
        token = new_token


class _Wait:
    """Polling for log events with a deadline, progress, and a message that says what to do.

    On AWS, FilterLogEvents is limited to about 5 calls a second for the whole
    account, shared by the room: polls start 2 s apart and back off to 10 s,
    with jitter, and a throttled poll is just a poll that found nothing yet.
    """

    def __init__(
        self,
        lab: Lab,
        timeout: float | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.lab = lab
        self.timeout = default_timeout(lab) if timeout is None else timeout
        aws = lab.backend == "aws"
        self.advice = (
            "CloudWatch Logs can lag by a minute on AWS: run the cell again"
            if aws
            else "check that the function was invoked (locally logs arrive at once)"
        )
        self.progress = Wait(
            "log events",
            self.timeout,
            self.advice,
            interval=_poll_interval(lab),
            max_interval=10.0 if aws else _poll_interval(lab),
            backoff=1.5 if aws else 1.0,
            jitter=0.2 if aws else 0.0,
            clock=clock,
            sleep=sleep,
        )

    def remaining(self) -> float:
        return self.progress.remaining()

    def look(self, probe: Callable[[], Any], empty: Any) -> Any:
        """``probe()``; ``empty`` when AWS throttled it (nothing found yet, poll slower)."""
        found = self.progress.look(probe)
        return empty if found is None else found

    def next(self, what: str) -> None:
        if self.remaining() <= 0:
            raise LogsNotFound(f"{what} after {self.timeout:.0f} s: {self.advice}.")
        self.progress.pause(what)
