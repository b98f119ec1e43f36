"""The health endpoint: how a client knows the process on a port is its own emulator.

A foreign service on the port answers something else (or a 404), so the kit can
say "port taken by another program" instead of failing later in a confusing way.
The answer names the OS user who owns the emulator: on a shared host every
user runs their own, and nobody attaches to another user's (their functions
would run as that user). It needs no signature and holds nothing secret.
"""

from __future__ import annotations

import getpass
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

HEALTH_PATH = "/_streamlab/health"
SERVICE_NAME = "streamlab-emulator"
# Loopback probes must never go through a proxy from the user's environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def owner_id() -> str:
    """This process's OS user: the numeric uid on POSIX, the user name on Windows."""
    if hasattr(os, "getuid"):
        return str(os.getuid())
    return getpass.getuser()


@dataclass(frozen=True)
class Health:
    """What a probe of the port found."""

    state: str  # "ours", "other_user" (another OS user's emulator), "foreign" or "down"
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
        if str(info.get("owner")) != owner_id():
            return Health("other_user", info)
        return Health("ours", info)
    return Health("foreign", {})
