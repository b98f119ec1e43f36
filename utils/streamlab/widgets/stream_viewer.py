"""A live view of a DynamoDB stream: records appear as writes happen.

``viewer.show()`` displays it (first), ``viewer.start()`` begins following the
stream in a background thread (then it changes), ``viewer.stop()`` stops the
thread, reads what is left and leaves the final picture; ``viewer.snapshot()``
is that picture as a table. The thread only reads the stream and changes the
widget's state: it never prints, so output never lands in whichever cell
happens to be running.

Headless (test mode or no kernel) the viewer shows a static snapshot instead
of a widget, and ``start()`` runs a bounded number of polls and joins them
before returning, so a notebook run is deterministic and leaves no thread
behind. Every running viewer is stopped when the kernel shuts down.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

from streamlab.aws.session import Lab
from streamlab.aws.streams import Change, StreamFollower, decode
from streamlab.aws.tables import format_value
from streamlab.aws.waiting import is_throttle
from streamlab.jupyter.error_display import one_line
from streamlab.jupyter.result_table import Table

from .mode import headless

COLUMNS = ("#", "shard", "event", "key", "what changed")
LOCAL_INTERVAL = 0.5
AWS_INTERVAL = 2.0
#: After throttles the viewer polls at most this many times slower, then speeds up again.
MAX_SLOWDOWN = 8
_running: weakref.WeakSet[StreamViewer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Kernel shutdown: stop every viewer's thread (they are daemons; this makes it tidy)."""
    for viewer in list(_running):
        viewer._stop_event.set()


class StreamViewer:
    """Follows one stream and shows its newest records (``max_rows``) as they arrive."""

    def __init__(
        self,
        lab: Lab,
        stream_arn: str,
        *,
        position: str = "TRIM_HORIZON",
        interval: float | None = None,
        max_rows: int = 12,
        headless_steps: int = 3,
        headless_mode: bool | None = None,
    ) -> None:
        self.stream_arn = stream_arn
        if interval is None:  # on AWS a room shares the account's stream read rates
            interval = AWS_INTERVAL if lab.backend == "aws" else LOCAL_INTERVAL
        self.interval = interval
        self.base_interval = interval
        self.throttled = 0
        self.max_rows = max_rows
        self.headless = headless() if headless_mode is None else headless_mode
        self.headless_steps = headless_steps
        self.error: str | None = None
        self._follower = StreamFollower(lab, stream_arn, position=position)
        self._changes: list[Change] = []
        self._shards: list[int] = []  # the shard of each change: 1 = the first shard found
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._widget: Any = None if self.headless else self._build_widget()

    # -- the widget ----------------------------------------------------------------------
    def _build_widget(self) -> Any:
        import ipywidgets as widgets

        self._status = widgets.Label(value="stopped")
        self._table = widgets.HTML(value=self.snapshot()._repr_html_())
        start = widgets.Button(description="Start", icon="play", layout={"width": "90px"})
        stop = widgets.Button(description="Stop", icon="stop", layout={"width": "90px"})
        start.on_click(lambda _button: self.start())
        stop.on_click(lambda _button: self.stop())
        title = widgets.HTML(value=f"<b>Stream</b> <code>{self.stream_arn.split('/')[-3]}</code>")
        return widgets.VBox([widgets.HBox([title, start, stop, self._status]), self._table])

    def _refresh(self) -> None:
        """Change widget state only (safe from the thread); headless there is nothing to change."""
        if self._widget is None:
            return
        self._table.value = self.snapshot()._repr_html_()
        state = "following" if self.running else "stopped"
        slowed = self.interval > self.base_interval
        self._status.value = (
            f"{state} · {len(self._changes)} records"
            + (f" · AWS throttled, polling every {self.interval:.0f} s" if slowed else "")
            + (f" · {self.error}" if self.error else "")
        )

    def show(self) -> None:
        """Display the viewer (the widget, or headless a snapshot). Call before ``start``."""
        from IPython.display import display

        display(self._widget if self._widget is not None else self.snapshot())

    def _ipython_display_(self) -> None:
        self.show()

    # -- following the stream --------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def changes(self) -> list[Change]:
        """Every record seen so far, decoded, oldest first."""
        with self._lock:
            return list(self._changes)

    def poll(self) -> int:
        """Read what arrived since the last poll; return how many records."""
        with self._poll_lock:
            try:
                records = self._follower.poll_by_shard()
            except Exception as exc:  # shown in the status line, never printed
                if is_throttle(exc):  # a busy account, not a broken stream: slow down, go on
                    self.throttled += 1
                    self.interval = min(self.interval * 2, self.base_interval * MAX_SLOWDOWN)
                    return 0
                self.error = one_line(exc)
                self._stop_event.set()
                return 0
            self.interval = max(self.base_interval, self.interval / 2)
            order = {shard_id: n for n, shard_id in enumerate(self._follower.shard_ids, 1)}
        decoded = [(order[shard_id], decode(record)) for shard_id, record in records]
        with self._lock:
            self._changes.extend(change for _shard, change in decoded)
            self._shards.extend(shard for shard, _change in decoded)
        return len(decoded)

    def _loop(self, steps: int | None) -> None:
        done = 0
        while not self._stop_event.is_set():
            self.poll()
            self._refresh()
            done += 1
            if steps is not None and done >= steps:
                break
            self._stop_event.wait(self.interval)
        self._refresh()

    def start(self) -> None:
        """Follow the stream in the background (headless: a few polls, finished on return)."""
        if self.running:
            return
        self._stop_event.clear()
        steps = self.headless_steps if self.headless else None
        self._thread = threading.Thread(
            target=self._loop, args=(steps,), name="stream-viewer", daemon=True
        )
        _running.add(self)
        self._thread.start()
        if self.headless:
            self._thread.join()
            _running.discard(self)
        else:
            self._refresh()

    def stop(self) -> None:
        """Stop following, then read what is left so the picture is complete."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.interval * 4))
        _running.discard(self)
        if self.error is None:
            self.poll()
        self._refresh()

    # -- pictures ----------------------------------------------------------------------------
    def snapshot(self) -> Table:
        """The newest ``max_rows`` records as a table (shard, event, key, what changed).

        Records come shard by shard: in order per item (per shard), not across items.
        """
        with self._lock:
            changes, shards = list(self._changes), list(self._shards)
        first = max(0, len(changes) - self.max_rows)
        rows = []
        for number, (shard, change) in enumerate(
            zip(shards[first:], changes[first:], strict=True), start=first + 1
        ):
            key = ", ".join(f"{k}={format_value(v)}" for k, v in change.keys.items())
            rows.append([str(number), str(shard), change.event, key, change.what_changed()])
        caption = f"{len(changes)} record(s) seen from {len(set(shards))} shard(s)"
        if first:
            caption += f", newest {self.max_rows} shown"
        if self.error:
            caption += f"; stopped: {self.error}"
        return Table(COLUMNS, rows, caption=caption)

    def __repr__(self) -> str:
        return repr(self.snapshot())
