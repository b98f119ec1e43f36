"""The Lambda Runtime API that one execution environment's worker talks to.

Each environment gets its own small HTTP server on a loopback port
(``AWS_LAMBDA_RUNTIME_API``), so any client of the public protocol works as the
worker: our pure-Python one or AWS's ``awslambdaric``. The server knows HTTP
only; what an invocation is belongs to ``environment``. Like the emulator, it
answers only requests whose Host is its own loopback address and that no web
page sent (see ``local.trust``): a page must not read a function's events.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..request_log import is_hang_up
from ..trust import refusal

PREFIX = "/2018-06-01/runtime"


@dataclass
class NextInvocation:
    """What ``GET /invocation/next`` hands to the worker."""

    request_id: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)


class RuntimeApiHandlers:
    """What the server calls; ``environment.ExecutionEnvironment`` implements it."""

    def next_invocation(self) -> NextInvocation | None: ...  # None: the environment retires
    def invocation_response(self, request_id: str, body: bytes, content_type: str) -> bool: ...
    def invocation_error(self, request_id: str, body: bytes, error_type: str) -> bool: ...
    def init_error(self, body: bytes, error_type: str) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    # Without this every small response waits ~40 ms for Nagle's algorithm.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the emulator's own log is for requests from people, not from workers

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _status(self, status: int, text: str = "OK") -> None:
        self._send(
            status, json.dumps({"status": text}).encode(), {"Content-Type": "application/json"}
        )

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _refused(self) -> bool:
        """Answer 403 to a request with a foreign Host or from a web page."""
        reason = refusal(self.headers, self.server.server_address[1])
        if reason is None:
            return False
        self._send(403, reason.encode() + b"\n", {"Content-Type": "text/plain"})
        self.close_connection = True
        return True

    def do_GET(self) -> None:  # noqa: N802
        if self._refused():
            return
        if self.path != f"{PREFIX}/invocation/next":
            self._status(404, "Not found")
            return
        invocation = self.server.handlers.next_invocation()
        if invocation is None:
            self._status(410, "Environment retired")
            self.close_connection = True
            return
        headers = {"Content-Type": "application/json", **invocation.headers}
        self._send(200, invocation.payload, headers)

    def do_POST(self) -> None:  # noqa: N802
        if self._refused():
            return
        body = self._body()
        path = self.path
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
        if path == f"{PREFIX}/init/error":
            self.server.handlers.init_error(body, error_type)
            self._status(202)
            return
        if path.startswith(f"{PREFIX}/invocation/"):
            rest = path[len(f"{PREFIX}/invocation/") :]
            request_id, _, action = rest.partition("/")
            if action == "response":
                content_type = self.headers.get("Content-Type", "application/json")
                known = self.server.handlers.invocation_response(request_id, body, content_type)
            elif action == "error":
                known = self.server.handlers.invocation_error(request_id, body, error_type)
            else:
                known = None
            if known is None:
                self._status(404, "Not found")
            elif not known:
                self._status(400, "InvalidRequestID")
            else:
                self._status(202)
            return
        self._status(404, "Not found")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    handlers: RuntimeApiHandlers

    def handle_error(self, request: object, client_address: object) -> None:
        """A worker that hung up (stopped, timed out, retired) is normal: no traceback."""
        error = sys.exc_info()[1]
        if is_hang_up(error):
            return
        logging.getLogger("streamlab.runtime").error(
            "Runtime API request from %s failed", client_address, exc_info=True
        )


class RuntimeApiServer:
    """One loopback Runtime API endpoint, served from a background thread."""

    def __init__(self, handlers: RuntimeApiHandlers) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.handlers = handlers
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"runtime-api-{self.address}",
            daemon=True,
        )
        self._thread.start()

    def close(self, on_closed: Callable[[], None] | None = None) -> None:
        self._server.shutdown()
        self._server.server_close()
        if on_closed:
            on_closed()
