"""The in-process API other parts of the emulator (the pollers) call: ``runtime.invoke``."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_helpers import deploy
from werkzeug.serving import make_server

from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.local import runtime
from streamlab.local.server import _QuickRequestHandler, build_app


@pytest.fixture(scope="module")
def inprocess_lab(state_dir: Path) -> Iterator[Lab]:
    """An emulator served from this test process, so ``runtime.invoke`` can be called.

    ``state_dir`` keeps its unpacked code in the test session's private folder.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = build_app("127.0.0.1", port)
    server = make_server(
        "127.0.0.1", port, app, threaded=True, request_handler=_QuickRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
            start_emulator=False,
        )
    finally:
        server.shutdown()
        app.close()
        server.server_close()


SOURCE = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("no")
    print("batch of", len(event["Records"]))
    return {"batchItemFailures": []}
"""


def test_invoke_returns_the_result_without_http(inprocess_lab: Lab) -> None:
    name = deploy(inprocess_lab, SOURCE)
    result = runtime.invoke(
        name, b'{"Records": [1, 2]}', region=inprocess_lab.region, account_id="123456789012"
    )
    assert result.status_code == 200
    assert result.function_error is None
    assert result.executed_version == "$LATEST"
    assert json.loads(result.payload) == {"batchItemFailures": []}
    assert "batch of 2\n" in result.log_tail
    assert result.log_tail.rstrip("\t\n").split("\n")[-1].startswith("REPORT RequestId: ")


def test_function_errors_are_results_and_api_errors_are_exceptions(inprocess_lab: Lab) -> None:
    name = deploy(inprocess_lab, SOURCE)
    failed = runtime.invoke(
        name, b'{"fail": true}', region=inprocess_lab.region, account_id="123456789012"
    )
    assert failed.function_error == "Unhandled"
    assert json.loads(failed.payload)["errorType"] == "ValueError"
    with pytest.raises(runtime.LambdaApiError) as error:
        runtime.invoke(
            "no-such-function", b"{}", region=inprocess_lab.region, account_id="123456789012"
        )
    assert (error.value.status, error.value.code) == (404, "ResourceNotFoundException")
