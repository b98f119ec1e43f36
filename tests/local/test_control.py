"""The background emulator's life cycle: start, reuse, status, stop, and what goes wrong."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

from streamlab.errors import EmulatorError
from streamlab.local import control, paths
from streamlab.local.health import probe


@pytest.fixture
def port(state_dir, unused_port: int) -> Iterator[int]:
    """A port for a test's own emulator, stopped afterwards whatever happened."""
    chosen = unused_port
    yield chosen
    control.stop(chosen)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamlab", *args], capture_output=True, text=True, timeout=90
    )


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_start_status_reuse_and_stop_across_processes(port: int) -> None:
    started = _cli("start", "--port", str(port))
    assert started.returncode == 0, started.stderr
    pid = json.loads(paths.pid_file(port).read_text())["pid"]
    assert psutil.pid_exists(pid)

    again = _cli("start", "--port", str(port))  # a second process reuses the running one
    assert again.returncode == 0
    assert json.loads(paths.pid_file(port).read_text())["pid"] == pid
    assert probe(f"http://127.0.0.1:{port}").info["pid"] == pid

    status = _cli("status", "--port", str(port))
    assert status.returncode == 0 and f"pid {pid}" in status.stdout

    stopped = _cli("stop", "--port", str(port))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    psutil.wait_procs([psutil.Process(pid)], timeout=10) if psutil.pid_exists(pid) else None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not paths.pid_file(port).exists()
    after = _cli("status", "--port", str(port))
    assert after.returncode == 3 and "not running" in after.stdout


def test_emulator_listens_on_loopback_only(port: int) -> None:
    health = control.start(port)
    listening = [
        connection.laddr
        for connection in psutil.Process(health.info["pid"]).net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    assert listening, "the emulator has no listening socket"
    assert {address.ip for address in listening} <= {"127.0.0.1", "::1"}


def test_non_loopback_host_is_refused_without_the_flag(state_dir, unused_port: int) -> None:
    result = _cli("serve", "--port", str(unused_port), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert "Traceback" not in result.stderr


class _OtherService(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b'{"service": "something-else"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_foreign_service_on_the_port_is_reported_not_killed(state_dir) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtherService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with pytest.raises(EmulatorError, match="used by another program"):
            control.start(port)
        status = _cli("status", "--port", str(port))
        assert "another program" in status.stdout
        result = _cli("stop", "--port", str(port))
        assert result.returncode == 2 and "another program" in result.stderr
        assert "Traceback" not in result.stderr
        assert thread.is_alive()
    finally:
        server.shutdown()


def test_stale_pid_file_is_recovered(port: int) -> None:
    paths.pid_file(port).write_text(json.dumps({"pid": _dead_pid(), "port": port}))
    status = control.status(port)
    assert not status.running and "stale pid file" in status.message
    assert not paths.pid_file(port).exists()
    paths.pid_file(port).write_text("not json at all")
    health = control.start(port)
    assert health.is_ours
    assert json.loads(paths.pid_file(port).read_text())["pid"] == health.info["pid"]


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL does not exist on Windows")
def test_killed_emulator_is_explained_then_restarted_by_connect(port: int) -> None:
    health = control.start(port)
    pid = health.info["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status = control.status(port)
    assert not status.running and "stopped unexpectedly" in status.message

    from streamlab.aws.session import connect
    from streamlab.config import load_config

    lab = connect(load_config({"LAB_ENDPOINT": f"http://127.0.0.1:{port}"}))
    assert lab.dynamodb.list_tables()["TableNames"] == []  # a fresh account
    assert control.status(port).running


def test_request_log_goes_to_the_log_file(port: int) -> None:
    control.start(port)
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /_streamlab/health HTTP/1.0\r\n\r\n")
        conn.recv(4096)
    time.sleep(0.2)
    assert "/_streamlab/health" in paths.log_file(port).read_text()


def test_the_log_has_one_plain_line_per_request_and_no_hang_up_tracebacks(port: int) -> None:
    from streamlab.aws.session import connect
    from streamlab.config import load_config

    control.start(port)
    lab = connect(load_config({"LAB_ENDPOINT": f"http://127.0.0.1:{port}"}))
    lab.dynamodb.list_tables()
    with pytest.raises(lab.dynamodb.exceptions.ResourceNotFoundException):
        lab.dynamodb.describe_table(TableName="no-such-table")
    for _ in range(3):  # clients that hang up mid-request
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
    time.sleep(0.5)
    text = paths.log_file(port).read_text()
    assert "\x1b[" not in text  # no terminal colour codes
    assert "Traceback" not in text
    lines = text.splitlines()
    assert any(line.endswith("ms") and " dynamodb:ListTables 200 " in line for line in lines)
    assert any(" dynamodb:DescribeTable 400 " in line for line in lines)


def test_an_idle_emulator_stops_itself_and_connect_starts_it_again(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlab.aws.session import connect
    from streamlab.config import load_config

    monkeypatch.setenv("LAB_EMULATOR_IDLE_SECONDS", "1")
    first = control.start(port).info["pid"]
    deadline = time.monotonic() + 30  # watched from outside: a probe would be a request
    while _running(first) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(first)
    assert not probe(f"http://127.0.0.1:{port}").is_ours
    assert not paths.pid_file(port).exists()  # a clean stop, not a crash
    assert "stopping" in paths.log_file(port).read_text()
    monkeypatch.setenv("LAB_EMULATOR_IDLE_SECONDS", "0")
    lab = connect(load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}))
    assert lab.dynamodb.list_tables()["TableNames"] == []
    assert probe(f"http://127.0.0.1:{port}").info["pid"] != first


def test_a_busy_emulator_does_not_stop(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_EMULATOR_IDLE_SECONDS", "2")
    pid = control.start(port).info["pid"]
    for _ in range(12):  # a request every half second, for three times the idle time
        assert probe(f"http://127.0.0.1:{port}").info["pid"] == pid
        time.sleep(0.5)


def test_a_bad_idle_setting_is_refused_with_what_to_set(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_EMULATOR_IDLE_SECONDS", "soon")
    with pytest.raises(EmulatorError, match="LAB_EMULATOR_IDLE_SECONDS='soon'.*or 0 to never"):
        control.start(port)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
