"""A live tail of a function's CloudWatch Logs, in a notebook cell.

The widget polls ``FilterLogEvents`` from a background thread and appends new
lines to a ``<pre>`` block, so a learner can invoke a function (or write to a
table that triggers it) in the next cell and watch START, the function's
output and REPORT arrive. The thread only assigns widget values; it never
prints (output from a thread lands in whatever cell runs at that moment).
Headless (``LAB_TEST_MODE=1``, or no IPython kernel) the loop runs a bounded
number of steps, is joined before the cell ends, and the cell shows a static
snapshot instead of a live widget.
"""

from __future__ import annotations

import atexit
import html
import threading
import time
import weakref
from typing import Any

import ipywidgets as widgets

from streamlab.aws import logs
from streamlab.aws.session import Lab

from .mode import headless

HEADLESS_STEPS = 3
AWS_INTERVAL = 5.0
MAX_BACKOFF = 60.0
DEFAULT_MAX_LINES = 200
_running: weakref.WeakSet[LogTail] = weakref.WeakSet()


class LogTail:
    """The log lines of ``lab.name(name)`` as they arrive, newest at the bottom."""

    def __init__(
        self,
        lab: Lab,
        name: str,
        *,
        pattern: str = "",
        since: int | None = None,
        interval: float | None = None,
        max_lines: int = DEFAULT_MAX_LINES,
        headless_mode: bool | None = None,
    ) -> None:
        self.lab = lab
        self.function_name = lab.name(name)
        self.pattern = pattern
        # FilterLogEvents allows a few calls per second per account: a workshop room of
        # tails on one AWS account must look rarely, and back off when throttled.
        self.interval = (
            interval if interval is not None else (0.5 if lab.backend == "local" else AWS_INTERVAL)
        )
        self.max_lines = max_lines
        self.headless = headless() if headless_mode is None else headless_mode
        self.lines: list[str] = []
        self.error: str | None = None
        self._failures = 0
        self._since = since if since is not None else int(time.time() * 1000)
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._title = widgets.HTML(
            f"<b>{html.escape(logs.log_group_name(self.function_name))}</b>"
            + (f" matching <code>{html.escape(pattern)}</code>" if pattern else "")
        )
        self._body = widgets.HTML(self._render_lines())
        self._status = widgets.Label("not started")
        self._button = widgets.Button(description="Stop", layout=widgets.Layout(width="6em"))
        self._button.on_click(lambda _: self.stop())
        self.widget = widgets.VBox(
            [widgets.HBox([self._title, self._button]), self._body, self._status]
        )

    # -- polling -----------------------------------------------------------------------
    def refresh(self) -> int:
        """Fetch events newer than the last one shown; returns how many were added."""
        try:
            events = logs.filter_events(
                self.lab, self.function_name, self.pattern, start_time=self._since
            )
        except Exception as exc:  # shown in the widget; the thread must not die silently
            self.error = f"{type(exc).__name__}: {exc}"
            self._status.value = f"error: {self.error}"
            return 0
        fresh = [e for e in events if _event_key(e) not in self._seen]
        for event in fresh:
            self._seen.add(_event_key(event))
            self.lines.extend(event["message"].rstrip("\n").split("\n"))
            self._since = max(self._since, event["timestamp"])
        if len(self.lines) > self.max_lines:
            del self.lines[: len(self.lines) - self.max_lines]
        if fresh:
            self._body.value = self._render_lines()
        self.error = None
        self._status.value = f"{len(self.lines)} lines, last look {time.strftime('%H:%M:%S')}"
        return len(fresh)

    def next_wait(self) -> float:
        """The pause before the next look: the interval, doubled per failed look in a row."""
        if self.error is None:
            self._failures = 0
            return self.interval
        self._failures += 1
        return min(self.interval * 2**self._failures, MAX_BACKOFF)

    def _loop(self, steps: int | None) -> None:
        done = 0
        while not self._stop.is_set() and (steps is None or done < steps):
            self.refresh()
            done += 1
            if steps is None or done < steps:
                self._stop.wait(self.next_wait())
        if steps is None or self._stop.is_set():
            self._status.value = f"stopped; {len(self.lines)} lines"

    def start(self, steps: int | None = None) -> LogTail:
        """Start polling in the background (``steps`` bounds it; headless bounds and joins)."""
        if self._thread and self._thread.is_alive():
            return self
        if self.headless and steps is None:
            steps = HEADLESS_STEPS
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(steps,), name=f"log-tail {self.function_name}", daemon=True
        )
        _running.add(self)
        self._status.value = "watching"
        self._thread.start()
        if self.headless:
            self._thread.join()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background loop and wait for it to end."""
        self._stop.set()
        thread = self._thread
        if thread and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        _running.discard(self)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    # -- display ---------------------------------------------------------------------------
    def _render_lines(self) -> str:
        text = "\n".join(self.lines) if self.lines else "(no log lines yet)"
        return (
            f'<pre style="max-height: 24em; overflow-y: auto; margin: 0">{html.escape(text)}</pre>'
        )

    def snapshot(self) -> str:
        """The lines shown so far, as plain text."""
        header = logs.log_group_name(self.function_name)
        return "\n".join([header, *(self.lines or ["(no log lines yet)"])])

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        if self.headless:
            return {
                "text/plain": self.snapshot(),
                "text/html": f"<b>{html.escape(self._title.value)}</b>{self._render_lines()}",
            }
        return self.widget._repr_mimebundle_(**kwargs)


def _event_key(event: logs.Event) -> str:
    fallback = f"{event['logStreamName']}/{event['timestamp']}/{event['message']}"
    return event.get("eventId") or fallback


def show_log_tail(lab: Lab, name: str, **kwargs: Any) -> LogTail:
    """A started log tail for ``lab.name(name)``: make it the last expression of a cell.

    It shows itself as the live widget; headless, its bounded steps have
    already run when the cell shows it, as a static snapshot.
    """
    return LogTail(lab, name, **kwargs).start()


@atexit.register
def stop_all() -> None:
    """Stop every running tail (runs when the kernel process ends)."""
    for tail in list(_running):
        tail.stop(timeout=1.0)
