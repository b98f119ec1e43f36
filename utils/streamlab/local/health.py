"""The health endpoint: how a client knows the process on a port is our emulator.

A foreign service on the port answers something else (or a 404), so the kit can
say "port taken by another program" instead of failing later in a confusing way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

HEALTH_PATH = "/_streamlab/health"
SERVICE_NAME = "streamlab-emulator"
# Loopback probes must never go through a proxy from the user's environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Health:
    """What a probe of the port found."""

    state: str  # "ours", "foreign" or "down"
    info: dict

    @property
    def is_ours(self) -> bool:
        return self.state == "ours"


def probe(endpoint: str, timeout: float = 2.0) -> Health:
    """Ask ``endpoint`` who it is, without ever raising."""
    try:
        with _DIRECT.open(endpoint + HEALTH_PATH, timeout=timeout) as response:
            body = response.read(65536)
    except urllib.error.HTTPError:
        return Health("foreign", {})
    except (urllib.error.URLError, OSError, ValueError):
        return Health("down", {})
    try:
        info = json.loads(body)
    except ValueError:
        return Health("foreign", {})
    if isinstance(info, dict) and info.get("service") == SERVICE_NAME:
        return Health("ours", info)
    return Health("foreign", {})
