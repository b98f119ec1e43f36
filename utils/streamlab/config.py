"""Reads the ``LAB_*`` environment variables once, in one place.

Everything that decides *where* the labs run (the backend, region, name prefix
and the local endpoint) comes from here, so notebooks, the command line and the
tests agree and a typo is caught before any AWS call is made.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from streamlab.errors import ConfigError

BACKENDS = ("local", "aws")
DEFAULT_REGION = "us-east-1"
DEFAULT_REPLICA_REGION = "us-west-2"
DEFAULT_PORT = 4599
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]*$")
_REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
#: Where the prefix came from (``LabConfig.prefix_source``); doctor prints it.
PREFIX_FROM_VARIABLE = "LAB_PREFIX"
PREFIX_FROM_HUB = "JUPYTERHUB_USER"
PREFIX_FROM_STS = "STS caller identity"
PREFIX_LOCAL = "local default (none needed)"
#: Names a whole room can share (hosted JupyterLab's ``jovyan``, a container's ``root``,
#: a cloud image's default user, an instance role's session): never a prefix, or one
#: participant's cleanup deletes everyone's tables.
GENERIC_NAMES = frozenset(
    {
        "jovyan",
        "root",
        "admin",
        "administrator",
        "ubuntu",
        "ec2user",
        "centos",
        "debian",
        "user",
        "users",
        "student",
        "students",
        "participant",
        "workshop",
        "lab",
        "labs",
        "default",
        "guest",
        "sagemaker",
        "sagemakeruser",
        "notebook",
        "jupyter",
        "vscode",
        "codespace",
        "cloudshelluser",
        "awsuser",
    }
)
_GENERIC_PATTERNS = (
    re.compile(r"^i[0-9a-f]{8,17}$"),  # an EC2 instance id (an instance role's session name)
    re.compile(r"^botocoresession\d*$"),  # botocore's own AssumeRole session name
    re.compile(r"^awsgosdk\d*$"),
)


@dataclass(frozen=True)
class LabConfig:
    """The resolved settings for one backend."""

    backend: str
    region: str
    prefix: str
    endpoint: str
    replica_region: str = DEFAULT_REPLICA_REGION
    #: Where ``prefix`` came from: LAB_PREFIX, JUPYTERHUB_USER, the STS caller identity
    #: (filled in by ``connect()``, which can ask STS), or the local default.
    prefix_source: str = PREFIX_FROM_VARIABLE

    @property
    def port(self) -> int:
        return endpoint_port(self.endpoint)

    @property
    def is_local(self) -> bool:
        return self.backend == "local"

    @property
    def prefix_pending(self) -> bool:
        """On aws without LAB_PREFIX or JUPYTERHUB_USER: the prefix comes from STS at connect."""
        return self.prefix_source == PREFIX_FROM_STS and not self.prefix

    def with_region(self, region: str) -> LabConfig:
        """The settings once the region is known (on aws it may come from the profile).

        The replica region follows it, so a ``us-west-2`` profile gets a replica
        in us-east-1 rather than in its own region.
        """
        if self.region == region and self.replica_region:
            return self
        replica = self.replica_region or default_replica_region(region)
        check_regions(region, replica)
        return dataclasses.replace(self, region=region, replica_region=replica)

    def with_prefix(self, prefix: str, source: str) -> LabConfig:
        check_prefix(prefix, source)
        return dataclasses.replace(self, prefix=prefix, prefix_source=source)


def endpoint_port(endpoint: str) -> int:
    """The TCP port of an ``http://host:port`` endpoint (80 when none is given)."""
    return urlparse(endpoint).port or 80


def endpoint_host(endpoint: str) -> str:
    return urlparse(endpoint).hostname or ""


def prefix_from_name(name: str) -> str:
    """A valid name prefix from a person's name: ``J.Doe`` -> ``jdoe-``, ``ann@x.org`` -> ``ann-``.

    Lowercase letters and digits only (every AWS name the labs create accepts
    them), at most 20, then ``-``; an e-mail address (an SSO session name)
    keeps its local part.
    """
    local_part = name.split("@", 1)[0]
    cleaned = re.sub(r"[^a-z0-9]", "", local_part.lower())[:20]
    return f"{cleaned}-" if cleaned else ""


def is_generic(prefix: str) -> bool:
    """Whether a prefix is a name a whole room shares (``jovyan-``, ``root-``, ``i-0abc...-``)."""
    core = re.sub(r"[^a-z0-9]", "", prefix.lower())
    return (
        not core
        or core in GENERIC_NAMES
        or any(pattern.fullmatch(core) for pattern in _GENERIC_PATTERNS)
    )


def check_prefix(prefix: str, source: str) -> None:
    """A ConfigError unless ``prefix`` can start AWS names and belongs to one person."""
    if not _PREFIX_PATTERN.fullmatch(prefix) or len(prefix) > 32:
        raise ConfigError(
            f"LAB_PREFIX={prefix!r} cannot start AWS resource names: use up to 32 letters, "
            "digits, '-', '_' or '.', e.g. LAB_PREFIX=alice-"
        )
    if prefix and is_generic(prefix):
        raise ConfigError(
            f"The prefix {prefix!r} (from {source}) is a name a whole room shares, so "
            "participants would delete each other's resources: set LAB_PREFIX to a name of "
            "your own, e.g. export LAB_PREFIX=alice-"
        )


def prefix_from_identity(arn: str) -> str:
    """The prefix for an STS caller ARN: the IAM user's name, or the role session's name.

    ``arn:aws:iam::1:user/dev/alice`` -> ``alice-``;
    ``arn:aws:sts::1:assumed-role/AWSReservedSSO_Lab_ab12/alice@example.org`` -> ``alice-``.
    The account root, or a session named after an instance or a tool, gives a
    generic name, which ``check_prefix`` refuses.
    """
    resource = arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role":
        name = rest.split("/", 1)[1] if "/" in rest else rest
    elif kind in ("user", "federated-user"):
        name = rest.rsplit("/", 1)[-1]
    else:  # "root", or a shape we do not know
        name = kind
    return prefix_from_name(name) or f"{name}-"


def default_replica_region(region: str) -> str:
    """us-west-2, or us-east-1 when the lab itself runs in us-west-2."""
    return DEFAULT_REPLICA_REGION if region != DEFAULT_REPLICA_REGION else DEFAULT_REGION


def check_regions(region: str, replica_region: str) -> None:
    if replica_region == region or not _REGION_PATTERN.fullmatch(replica_region):
        raise ConfigError(
            f"LAB_REPLICA_REGION={replica_region!r} must be a region name other than "
            f"LAB_REGION ({region}), e.g. us-west-2."
        )


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
    if region and not _REGION_PATTERN.fullmatch(region):
        raise ConfigError(
            f"LAB_REGION={region!r} is not an AWS region name: use one like us-east-1."
        )
    prefix, prefix_source = _prefix(env, backend)
    check_prefix(prefix, prefix_source)
    endpoint = env.get("LAB_ENDPOINT", "").strip().rstrip("/") or DEFAULT_ENDPOINT
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
    replica_region = env.get("LAB_REPLICA_REGION", "").strip()
    if region:
        replica_region = replica_region or default_replica_region(region)
        check_regions(region, replica_region)
    elif replica_region and not _REGION_PATTERN.fullmatch(replica_region):
        check_regions(region, replica_region)
    # Without a region yet (aws, from the profile) the replica is chosen by with_region().
    return LabConfig(
        backend=backend,
        region=region,
        prefix=prefix,
        endpoint=endpoint,
        replica_region=replica_region,
        prefix_source=prefix_source,
    )


def _prefix(env: Mapping[str, str], backend: str) -> tuple[str, str]:
    """LAB_PREFIX, else (aws) JUPYTERHUB_USER, else (aws) the STS identity at connect()."""
    if "LAB_PREFIX" in env:
        return env["LAB_PREFIX"].strip(), PREFIX_FROM_VARIABLE
    if backend == "local":
        return "", PREFIX_LOCAL
    hub_user = env.get("JUPYTERHUB_USER", "").strip()
    if hub_user:
        return prefix_from_name(hub_user) or f"{hub_user}-", PREFIX_FROM_HUB
    return "", PREFIX_FROM_STS
