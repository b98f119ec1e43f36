"""Reads the ``LAB_*`` environment variables once, in one place.

Everything that decides *where* the labs run (the backend, region, name prefix
and the local endpoint) comes from here, so notebooks, the command line and the
tests agree and a typo is caught before any AWS call is made.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from streamlab.errors import ConfigError

BACKENDS = ("local", "aws")
DEFAULT_REGION = "us-east-1"
DEFAULT_REPLICA_REGION = "us-west-2"
DEFAULT_PORT = 4599
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class LabConfig:
    """The resolved settings for one backend."""

    backend: str
    region: str
    prefix: str
    endpoint: str
    replica_region: str = DEFAULT_REPLICA_REGION
    # Where the endpoint came from: "LAB_ENDPOINT" (explicit: never moved), "recorded"
    # (this user's own emulator moved off a port another user's holds) or "default".
    endpoint_source: str = "default"

    @property
    def port(self) -> int:
        return endpoint_port(self.endpoint)

    @property
    def is_local(self) -> bool:
        return self.backend == "local"

    @property
    def endpoint_movable(self) -> bool:
        """May the kit start this user's emulator elsewhere if another user's holds the port?"""
        return self.endpoint_source != "LAB_ENDPOINT"


def recorded_port(env: Mapping[str, str]) -> int | None:
    """The port of this user's own emulator recorded in the state folder (see ``control``)."""
    folder = Path(
        env.get("LAB_STATE_DIR") or os.environ.get("LAB_STATE_DIR") or Path.home() / ".streamlab"
    )
    try:
        port = int((folder / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def endpoint_port(endpoint: str) -> int:
    """The TCP port of an ``http://host:port`` endpoint (80 when none is given)."""
    return urlparse(endpoint).port or 80


def endpoint_host(endpoint: str) -> str:
    return urlparse(endpoint).hostname or ""


def default_aws_prefix(user: str | None = None) -> str:
    """A per-person prefix for shared accounts, e.g. ``jdoe-`` for user ``J.Doe``."""
    try:
        user = user or getpass.getuser()
    except Exception:  # no user name on some containers
        user = "lab"
    cleaned = re.sub(r"[^a-z0-9]", "", user.lower())[:20] or "lab"
    return f"{cleaned}-"


def load_config(environ: Mapping[str, str] | None = None) -> LabConfig:
    """Resolve the settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    backend = env.get("LAB_BACKEND", "local").strip().lower() or "local"
    if backend not in BACKENDS:
        raise ConfigError(
            f"LAB_BACKEND={env.get('LAB_BACKEND')!r} is not a backend: choose one of "
            f"{', '.join(BACKENDS)} (local is the default)."
        )
    region = env.get("LAB_REGION", "").strip()
    if not region and backend == "aws":
        # On AWS the usual variables count too; the profile's region is read by connect().
        region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    elif not region:
        region = DEFAULT_REGION
    if region and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise ConfigError(
            f"LAB_REGION={region!r} is not an AWS region name: use one like us-east-1."
        )
    if "LAB_PREFIX" in env:
        prefix = env["LAB_PREFIX"].strip()
    else:
        prefix = "" if backend == "local" else default_aws_prefix()
    if not _PREFIX_PATTERN.fullmatch(prefix) or len(prefix) > 32:
        raise ConfigError(
            f"LAB_PREFIX={prefix!r} cannot start AWS resource names: use up to 32 letters, "
            "digits, '-', '_' or '.', e.g. LAB_PREFIX=alice-"
        )
    endpoint = env.get("LAB_ENDPOINT", "").strip().rstrip("/")
    source = "LAB_ENDPOINT"
    if not endpoint:
        port = recorded_port(env)
        source = "default" if port is None else "recorded"
        endpoint = DEFAULT_ENDPOINT if port is None else f"http://127.0.0.1:{port}"
    parsed = urlparse(endpoint)
    if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
        raise ConfigError(
            f"LAB_ENDPOINT={endpoint!r} is not an emulator address: use "
            f"http://127.0.0.1:PORT (default {DEFAULT_ENDPOINT})."
        )
    if backend == "local" and parsed.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"LAB_ENDPOINT={endpoint!r} is not on this machine: the local backend only talks "
            "to 127.0.0.1, so nothing can reach real AWS by accident."
        )
    replica_region = env.get("LAB_REPLICA_REGION", "").strip() or (
        DEFAULT_REPLICA_REGION if region != DEFAULT_REPLICA_REGION else DEFAULT_REGION
    )
    if replica_region == region or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", replica_region):
        raise ConfigError(
            f"LAB_REPLICA_REGION={replica_region!r} must be a region name other than "
            f"LAB_REGION ({region}), e.g. us-west-2."
        )
    return LabConfig(
        backend=backend,
        region=region,
        prefix=prefix,
        endpoint=endpoint,
        replica_region=replica_region,
        endpoint_source=source,
    )
