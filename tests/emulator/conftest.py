"""Fixtures for stream mapping tests.

``inprocess_emulator`` runs the emulator application in this process, with the
pollers' invoker replaced by a recorder, so delivery semantics can be tested
with programmable function results and without any Lambda runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mapping_helpers import free_port
from werkzeug.serving import make_server

from streamlab.config import load_config
from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.server import build_app
from streamlab.session import Lab, connect


class Recorder:
    """The function, as the pollers see it: records events, answers from ``respond``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.respond: Callable[[str, dict[str, Any]], InvokeResult] = (
            lambda arn, event: InvokeResult())

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        with self.lock:
            self.events.append((function_arn, event))
        return self.respond(function_arn, event)

    def records(self, function_arn: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for arn, e in self.events if function_arn in (None, arn)
                    for r in e.get("Records", [])]


@dataclass
class InProcess:
    lab: Lab
    recorder: Recorder
    app: Any


@pytest.fixture(scope="module")
def inprocess_emulator() -> Iterator[InProcess]:
    """An emulator app served from this process, its pollers invoking a ``Recorder``."""
    port = free_port()
    app = build_app("127.0.0.1", port)
    recorder = Recorder()
    app.stream_mappings.invoker = recorder
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lab = connect(load_config({"LAB_BACKEND": "local",
                               "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
                  start_emulator=False)
    try:
        yield InProcess(lab, recorder, app)
    finally:
        server.shutdown()
        app.close()
        server.server_close()


@pytest.fixture()
def recorder(inprocess_emulator: InProcess) -> Iterator[Recorder]:
    """The in-process function, reset to succeed for each test."""
    inprocess_emulator.recorder.respond = lambda arn, event: InvokeResult()
    yield inprocess_emulator.recorder
    inprocess_emulator.recorder.respond = lambda arn, event: InvokeResult()
