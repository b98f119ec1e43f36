"""CloudWatch Logs as AWS serves it: late events, a FilterLogEvents quota, empty pages.

* A function's log group appears at its first invocation (the runtime creates
  it then, never at ``CreateFunction``); its events become readable only
  ``logs.visible_after_seconds`` after the function wrote them
  (``DeferredLogWriter`` holds them back, in order per log stream).
* ``FilterLogEvents`` is limited to 5 calls per second per account:
  ``ThrottlingException: Rate exceeded``.
* ``FilterLogEvents`` may answer a page with no events and a ``nextToken``
  while more events remain: code that stops at the first empty page misses
  them. The profile's token wraps moto's (or none) and is unwrapped when it
  comes back.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from .clock import ProfileClock
from .rate_limit import RateLimiter
from .scheduler import Scheduler
from .wire import Forward, logs_error, pass_on, request_json

EMPTY_PAGE_TOKEN = "streamlab-more/"


def _wrap_token(token: str | None) -> str:
    inner = json.dumps(token).encode()
    return EMPTY_PAGE_TOKEN + base64.urlsafe_b64encode(inner).decode("ascii")


def _unwrap_token(token: str) -> tuple[bool, str | None]:
    """(was it ours, moto's token inside it)."""
    if not token.startswith(EMPTY_PAGE_TOKEN):
        return False, token
    try:
        inner = json.loads(base64.urlsafe_b64decode(token[len(EMPTY_PAGE_TOKEN) :]))
    except ValueError:
        return True, None
    return True, inner if isinstance(inner, str) else None


class LogsProfile:
    """The CloudWatch Logs calls the profile changes (matched by the JSON target)."""

    def __init__(self, clock: ProfileClock) -> None:
        self.clock = clock
        self.filter_quota = RateLimiter(clock.value("logs.filter_log_events_per_second"))
        self.empty_page_probability = clock.value("logs.empty_page_probability")

    def handle(
        self, operation: str, request: Request, forward: Forward, account_id: str, region: str
    ) -> Response | None:
        if operation != "FilterLogEvents":
            return None
        if not self.filter_quota.allow((account_id, region)):
            return logs_error("ThrottlingException", "Rate exceeded")
        spec = request_json(request)
        token = spec.get("nextToken")
        if isinstance(token, str):
            ours, inner = _unwrap_token(token)
            if ours:  # the page after one of our empty pages: moto's own page
                if inner is None:
                    spec.pop("nextToken", None)
                else:
                    spec["nextToken"] = inner
                return pass_on(forward, request, json.dumps(spec).encode()).response()
        if self.clock.chance(self.empty_page_probability):
            page = {"events": [], "searchedLogStreams": [], "nextToken": _wrap_token(token)}
            return Response(json.dumps(page), mimetype="application/x-amz-json-1.1")
        return None


class DeferredLogWriter:
    """Wraps the runtime's ``LogWriter``: the group and stream now, the events later.

    Events of one log stream land in the order they were written, even when a
    later batch draws a shorter delay.
    """

    def __init__(self, writer: Any, clock: ProfileClock, scheduler: Scheduler) -> None:
        self._writer = writer
        self._clock = clock
        self._scheduler = scheduler
        self._last_due: dict[tuple[str, str, str, str], float] = {}
        self._lock = threading.Lock()

    def write(self, spec: Any, stream: str, events: list[dict]) -> None:
        if not events:
            return
        self._writer.ensure_stream(spec, stream)  # the group appears at the first invocation
        key = (spec.account_id, spec.region, spec.log_group, stream)
        with self._lock:
            due = self._scheduler.now() + self._clock.delay("logs.visible_after_seconds")
            due = max(due, self._last_due.get(key, 0.0))
            self._last_due[key] = due
            self._scheduler.at(due, lambda: self._writer.write(spec, stream, events))

    def write_lines(self, spec: Any, stream: str, lines: list[Any]) -> None:
        self.write(
            spec, stream, [{"timestamp": x.timestamp_ms, "message": x.text + "\n"} for x in lines]
        )
