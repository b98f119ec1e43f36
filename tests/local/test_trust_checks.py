"""Host and browser checks, offline: the emulator's rules and the Runtime API server's."""

from __future__ import annotations

import http.client

import pytest

from streamlab.local.runtime.runtime_api import PREFIX, NextInvocation, RuntimeApiServer
from streamlab.local.trust import browser_refusal, host_refusal, without_cors


@pytest.mark.parametrize("host", ["127.0.0.1:4599", "localhost:4599", "[::1]:4599"])
def test_loopback_hosts_with_the_servers_port_pass(host: str) -> None:
    assert host_refusal(host, 4599) is None


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:4599",
        "attacker.example",
        "127.0.0.1:4600",
        "127.0.0.1",
        "",
        None,
        "127.0.0.1.attacker.example:4599",
        "localhost:4599@attacker.example",
    ],
)
def test_other_hosts_are_refused(host: str | None) -> None:
    assert host_refusal(host, 4599) is not None


@pytest.mark.parametrize(
    ("origin", "site", "refused"),
    [
        (None, None, False),  # not a browser: the SDKs and the CLI send neither
        ("http://127.0.0.1:8888", "same-site", False),  # JupyterLab on this machine
        ("http://localhost:8888", None, False),
        ("https://attacker.example", None, True),
        ("null", None, True),  # sandboxed frames and file:// pages
        (None, "cross-site", True),
        ("http://127.0.0.1.attacker.example", None, True),
    ],
)
def test_web_pages_that_are_not_on_loopback_are_refused(
    origin: str | None, site: str | None, refused: bool
) -> None:
    assert (browser_refusal(origin, site) is not None) is refused


def test_cors_headers_are_dropped() -> None:
    headers = [
        ("Content-Type", "x"),
        ("Access-Control-Allow-Origin", "*"),
        ("access-control-allow-methods", "POST"),
    ]
    assert without_cors(headers) == [("Content-Type", "x")]


class _Handlers:
    def __init__(self) -> None:
        self.asked = 0

    def next_invocation(self) -> NextInvocation | None:
        self.asked += 1
        return None


def _get(address: str, headers: dict[str, str]) -> int:
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("GET", f"{PREFIX}/invocation/next", skip_host=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_runtime_api_refuses_a_foreign_host_and_web_pages() -> None:
    handlers = _Handlers()
    server = RuntimeApiServer(handlers)  # type: ignore[arg-type]
    try:
        port = server.address.rpartition(":")[2]
        assert _get(server.address, {"Host": f"attacker.example:{port}"}) == 403
        assert _get(server.address, {"Host": server.address, "Origin": "https://a.example"}) == 403
        assert _get(server.address, {"Host": server.address, "Sec-Fetch-Site": "cross-site"}) == 403
        assert handlers.asked == 0  # no invocation was handed out
        assert _get(server.address, {"Host": server.address}) == 410  # the worker's own request
        assert handlers.asked == 1
    finally:
        server.close()
