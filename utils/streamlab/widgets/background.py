"""What every live widget shares: test mode, a stoppable refresh loop, one-line errors.

Rules for widgets (see ARCHITECTURE.md): display first, then change; background
threads change widget state only and never print (a print from a thread lands in
whichever cell runs next); in test mode a refresh loop runs a bounded number of
steps and is joined in the cell that started it, so headless runs are
deterministic; and every loop stops when the kernel exits.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from typing import Any, Self

import botocore.exceptions
from IPython.display import display

from ..errors import LabError
from .mode import test_mode  # noqa: F401 - the widgets import it from here

_LOOPS: weakref.WeakSet[RefreshLoop] = weakref.WeakSet()


class RefreshLoop:
    """Calls ``step`` every ``interval`` seconds in a daemon thread until stopped.

    With ``max_steps`` it stops by itself after that many steps (test mode). A step
    that raises does not end the loop: the widget's own step shows its errors, and
    this thread has nowhere visible to report them. ``interval`` is read before
    every wait, so a step may change it (the pipeline view backs off when throttled).
    """

    def __init__(
        self,
        step: Callable[[], object],
        *,
        interval: float = 1.0,
        max_steps: int | None = None,
        name: str = "streamlab-refresh",
    ) -> None:
        if interval <= 0:
            raise LabError(f"interval={interval!r}: give a refresh interval in seconds, > 0.")
        self.step = step
        self.interval = interval
        self.max_steps = max_steps
        self.name = name
        self.steps = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> RefreshLoop:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        _LOOPS.add(self)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001 - never print from a thread; count instead
                self.failures += 1
            self.steps += 1
            if self.max_steps is not None and self.steps >= self.max_steps:
                return
            self._stop.wait(self.interval)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the loop to end and wait for it (a step in flight finishes first)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)


def stop_all() -> None:
    """Stop every running refresh loop (run at interpreter exit, i.e. kernel shutdown)."""
    for loop in list(_LOOPS):
        loop.stop(timeout=2.0)


atexit.register(stop_all)


def refresh_loop(
    step: Callable[[], object], *, interval: float, test_steps: int, name: str
) -> RefreshLoop:
    """A live widget's loop: every ``interval`` in JupyterLab, a few quick steps in test mode."""
    return RefreshLoop(
        step,
        interval=min(interval, 0.1) if test_mode() else interval,
        max_steps=test_steps if test_mode() else None,
        name=name,
    )


class LiveWidget:
    """What a widget refreshed by a ``RefreshLoop`` shares: show, start, stop, running.

    A subclass sets ``self.widget`` (what JupyterLab displays) and ``self.loop``, and
    gives ``snapshot()`` (what a headless run displays instead, once the bounded
    loop has run in the same cell). ``_first_look()`` runs before the loop starts,
    for a widget that should show data at once rather than after one interval.
    """

    widget: Any
    loop: RefreshLoop

    def snapshot(self) -> Any:
        raise NotImplementedError

    def _first_look(self) -> None:
        """Before the loop starts in JupyterLab (nothing by default)."""

    def show(self) -> Self:
        """Display, then refresh: live in JupyterLab, a joined bounded loop in test mode."""
        if test_mode():
            self.loop.start()
            self.loop.join()
            display(self.snapshot())
            return self
        display(self.widget)
        self._first_look()
        self.loop.start()
        return self

    def start(self) -> Self:
        """Refresh in the background without displaying (again)."""
        self.loop.start()
        return self

    def stop(self) -> None:
        """Stop refreshing (the widget keeps its last state)."""
        self.loop.stop()

    @property
    def running(self) -> bool:
        return self.loop.running

    def _ipython_display_(self) -> None:
        self.show()


def error_line(exc: BaseException) -> str:
    """One line a learner can act on, instead of a traceback inside a widget."""
    if isinstance(exc, LabError):
        text = str(exc)
    elif isinstance(exc, botocore.exceptions.EndpointConnectionError):
        text = (
            f"Cannot reach the backend ({exc.kwargs.get('endpoint_url', 'endpoint')}): "
            "is the emulator running? Try `streamlab status`."
        )
    elif isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
