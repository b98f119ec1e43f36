"""The Runtime API server of one environment: workers that hang up leave no traceback."""

from __future__ import annotations

import logging
import socket

import pytest

from streamlab.local.runtime.runtime_api import NextInvocation, RuntimeApiServer

RESET_ON_CLOSE = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s


class _Handlers:
    def next_invocation(self) -> NextInvocation | None:
        return NextInvocation("id-1", b"{}" * 50_000)  # large enough to outlive a hang-up

    def invocation_response(self, request_id: str, body: bytes, content_type: str) -> bool:
        return True

    def invocation_error(self, request_id: str, body: bytes, error_type: str) -> bool:
        return True

    def init_error(self, body: bytes, error_type: str) -> None:
        return None


def test_a_worker_that_hangs_up_is_not_an_error(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    server = RuntimeApiServer(_Handlers())
    host, port = server.address.split(":")
    host_header = f"Host: {server.address}\r\n".encode()  # its own address: others get 403
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(5):
                conn = socket.create_connection((host, int(port)))
                conn.sendall(
                    b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n" + host_header + b"\r\n"
                )
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
                conn.close()  # a reset, as when a timed-out worker is killed
            with socket.create_connection((host, int(port))) as conn:  # still serving
                conn.sendall(b"GET /nothing HTTP/1.1\r\n" + host_header + b"\r\n")
                assert conn.recv(100).startswith(b"HTTP/1.1 404")
    finally:
        server.close()
    assert "Traceback" not in capsys.readouterr().err
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
