"""The local runtime's knobs, read once from ``LAB_LAMBDA_*`` environment variables.

They change how the emulator runs functions, never what a function sees, so
they live beside the runtime rather than in the learner-facing ``LabConfig``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from dataclasses import dataclass

from ...errors import ConfigError

WORKERS = ("builtin", "awslambdaric")
STARTS = ("fork", "spawn")
# How long an idle environment is kept. AWS keeps an idle execution environment
# for minutes (typically 5 to 15, never promised); five minutes is the short end,
# so a learner who reads between two invocations still finds the function warm,
# and a laptop or a shared host does not keep a forgotten worker for long.
DEFAULT_IDLE_SECONDS = 300.0
# Environments alive at once, busy or idle, across all functions (see pool): each
# costs about 13 MiB, so the figure bounds what a participant's emulator holds on
# a shared workshop host. Lab 06's two readers on four shards would run eight at
# once; with six, two of a burst's batches start a few milliseconds later.
DEFAULT_LIVE_ENVIRONMENTS = 6


def _fork_available() -> bool:
    return os.name == "posix" and hasattr(os, "fork") and hasattr(socket, "send_fds")


@dataclass(frozen=True)
class RuntimeSettings:
    """How many environments, for how long, and which runtime client runs in them."""

    worker: str = "builtin"
    start: str = "spawn"  # fork: from the template process (see worker_start); spawn: a new one
    max_environments_per_function: int = 10
    max_idle_environments: int = 10
    max_live_environments: int = DEFAULT_LIVE_ENVIRONMENTS
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    pending_seconds: float = 0.0
    async_retry_base_seconds: float = 0.5
    async_workers: int = 4


def _number(environ: dict[str, str], name: str, default: float, minimum: float) -> float:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number: set it to e.g. {default:g}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is too small: use at least {minimum:g}.")
    return value


def load_settings(environ: dict[str, str] | None = None) -> RuntimeSettings:
    """Settings from the environment; a bad value raises ``ConfigError`` saying what to set."""
    env = dict(os.environ if environ is None else environ)
    worker = (env.get("LAB_LAMBDA_WORKER") or "builtin").strip().lower()
    if worker not in WORKERS:
        raise ConfigError(
            f"LAB_LAMBDA_WORKER={worker!r} is not a worker: use one of {', '.join(WORKERS)}."
        )
    if worker == "awslambdaric" and importlib.util.find_spec("awslambdaric") is None:
        raise ConfigError(
            "LAB_LAMBDA_WORKER=awslambdaric but awslambdaric is not installed: install it with "
            "`pip install awslambdaric` (Linux only), or unset LAB_LAMBDA_WORKER."
        )
    start = (env.get("LAB_LAMBDA_START") or "fork").strip().lower()
    if start not in STARTS:
        raise ConfigError(
            f"LAB_LAMBDA_START={start!r} is not a way to start workers: use fork or spawn."
        )
    # awslambdaric workers keep the spawned start (AWS's client is started as a program);
    # where there is no fork (Windows) every worker is spawned.
    if worker != "builtin" or not _fork_available():
        start = "spawn"
    return RuntimeSettings(
        worker=worker,
        start=start,
        max_environments_per_function=int(_number(env, "LAB_LAMBDA_MAX_ENVIRONMENTS", 10, 1)),
        max_idle_environments=int(_number(env, "LAB_LAMBDA_MAX_IDLE_ENVIRONMENTS", 10, 0)),
        max_live_environments=int(
            _number(env, "LAB_LAMBDA_MAX_LIVE_ENVIRONMENTS", DEFAULT_LIVE_ENVIRONMENTS, 1)
        ),
        idle_seconds=_number(env, "LAB_LAMBDA_IDLE_SECONDS", DEFAULT_IDLE_SECONDS, 0.1),
        pending_seconds=_number(env, "LAB_LAMBDA_PENDING_SECONDS", 0.0, 0.0),
        async_retry_base_seconds=_number(env, "LAB_LAMBDA_ASYNC_RETRY_SECONDS", 0.5, 0.0),
    )
