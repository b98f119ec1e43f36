"""Fixtures for stream mapping tests.

``inprocess_emulator`` runs the emulator application in this process, with the
pollers' invoker replaced by a recorder, so delivery semantics can be tested
with programmable function results and without any Lambda runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from mapping_helpers import InProcess, Recorder
from werkzeug.serving import make_server

from streamlab.aws.session import connect
from streamlab.config import load_config
from streamlab.local.control import free_port
from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.server import build_app


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
    lab = connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
        start_emulator=False,
    )
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
