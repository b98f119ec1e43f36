"""Writes an invocation's log into moto's CloudWatch Logs, in AWS's exact formats.

Group ``/aws/lambda/NAME`` (created on first use), one stream per execution
environment, and per invocation: output from the init phase, ``START``, each
line the function printed (one event each; an error is one event whose lines
are joined by ``\\r``), ``END`` and ``REPORT``. Every message ends with a
newline and ``REPORT`` with a tab and a newline, as Lambda writes them.
"""

from __future__ import annotations

import base64
import math
import threading
from datetime import datetime, timezone

from moto.logs.models import logs_backends

from .environment import LogLine, Outcome
from .functions import FunctionSpec

TAIL_BYTES = 4096

_REPORT_STATUS = {
    "timeout": "\tStatus: timeout",
    "out_of_memory": "\tStatus: error\tError Type: Runtime.OutOfMemory",
    "exited": "\tStatus: error\tError Type: Runtime.ExitError",
}


def report_line(spec: FunctionSpec, outcome: Outcome) -> str:
    """``REPORT RequestId: ...\\tDuration: ...`` exactly as Lambda prints it."""
    if outcome.status == "timeout":
        billed = spec.timeout * 1000
    else:
        billed = max(1, math.ceil(outcome.duration_ms))
    text = (
        f"REPORT RequestId: {outcome.request_id}\tDuration: {outcome.duration_ms:.2f} ms"
        f"\tBilled Duration: {billed} ms\tMemory Size: {spec.memory_size} MB"
        f"\tMax Memory Used: {outcome.max_memory_mb} MB"
    )
    if outcome.init_duration_ms is not None:
        text += f"\tInit Duration: {outcome.init_duration_ms:.2f} ms"
    if outcome.status == "init_error":
        text += f"\tStatus: error\tError Type: {outcome.error_type or 'Runtime.Unknown'}"
    else:
        text += _REPORT_STATUS.get(outcome.status, "")
    return text + "\t\n"


def timeout_line(spec: FunctionSpec, outcome: Outcome, timestamp_ms: int) -> str:
    when = datetime.fromtimestamp(timestamp_ms / 1000, timezone.utc)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return f"{stamp} {outcome.request_id} Task timed out after {spec.timeout:.2f} seconds\n\n"


def invocation_events(spec: FunctionSpec, outcome: Outcome, end_ms: int) -> list[dict]:
    """The log events of one invocation, in order, with non-decreasing timestamps."""
    events: list[tuple[int, str]] = []
    for line in outcome.pre_lines:
        events.append((line.timestamp_ms, line.text + "\n"))
    events.append(
        (outcome.start_ms, f"START RequestId: {outcome.request_id} Version: {spec.version}\n")
    )
    for line in outcome.lines:
        events.append((line.timestamp_ms, line.text + "\n"))
    events.append((end_ms, f"END RequestId: {outcome.request_id}\n"))
    events.append((end_ms, report_line(spec, outcome)))
    if outcome.status == "timeout":
        events.append((end_ms, timeout_line(spec, outcome, end_ms)))
    result, last = [], 0
    for timestamp, message in events:
        last = max(last, timestamp)
        result.append({"timestamp": last, "message": message})
    return result


def tail(events: list[dict]) -> str:
    """What ``LogType=Tail`` returns: the last 4 KB of the invocation's log, base64."""
    text = "".join(event["message"] for event in events).encode("utf-8")
    return base64.b64encode(text[-TAIL_BYTES:]).decode("ascii")


class LogWriter:
    """Puts events into moto's logs backend under the emulator's moto lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock

    def write(self, spec: FunctionSpec, stream: str, events: list[dict]) -> None:
        if not events:
            return
        with self._lock:
            self.ensure_stream(spec, stream)
            logs_backends[spec.account_id][spec.region].put_log_events(
                spec.log_group, stream, events
            )

    def ensure_stream(self, spec: FunctionSpec, stream: str) -> None:
        """Create the function's log group and this stream if they do not exist yet."""
        with self._lock:
            backend = logs_backends[spec.account_id][spec.region]
            if spec.log_group not in backend.groups:
                backend.create_log_group(spec.log_group, {})
            if stream not in backend.groups[spec.log_group].streams:
                backend.create_log_stream(spec.log_group, stream)

    def write_lines(self, spec: FunctionSpec, stream: str, lines: list[LogLine]) -> None:
        self.write(
            spec, stream, [{"timestamp": x.timestamp_ms, "message": x.text + "\n"} for x in lines]
        )
