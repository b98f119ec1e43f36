"""Emulator profiles: how strictly the emulator plays AWS.

``local`` (the default) is the fast emulator the labs run on: nothing here is
installed and no code path changes. ``aws`` rehearses a real (new) AWS account
from AWS's documented figures (``aws.json``, each with its source page): IAM
that propagates in seconds, functions that are ``Pending``, mappings that are
``Creating`` for tens of seconds, tables that are ``CREATING``, late log
events, an account concurrency quota of 10, and the DescribeStream and
FilterLogEvents quotas. ``--time-scale X`` multiplies every delay (CI uses a
small X) and ``--seed N`` makes its random choices repeatable.

Modules, one job each: ``clock`` (figures, scaled seeded delays),
``rate_limit``, ``scheduler`` (deferred work), ``wire`` (HTTP shapes),
``iam``, ``functions``, ``mappings``, ``tables``, ``logs`` (one service each),
``front`` (the interceptor that dispatches to them). The emulator's other
parts reach the profile through small hooks: ``runtime.states`` (drawn
delays), ``runtime``'s log writer (``logs.DeferredLogWriter``), the mapping
registry (``MappingRegistry.profile``) and ``pollers.permissions``
(``role_policy_documents``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from .clock import ProfileClock

PROFILES = ("local", "aws")


@dataclass(frozen=True)
class ProfileOptions:
    """What ``streamlab serve --profile NAME --time-scale X --seed N`` asked for."""

    name: str = "local"
    time_scale: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ConfigError(f"--profile {self.name!r}: use one of {', '.join(PROFILES)}.")
        if not self.time_scale > 0:
            raise ConfigError(
                f"--time-scale {self.time_scale!r}: use a number above 0 (1 = AWS's pace)."
            )

    def as_arguments(self) -> list[str]:
        """The same options as command-line arguments (for the background emulator)."""
        if self.name == "local":
            return []
        arguments = ["--profile", self.name, "--time-scale", f"{self.time_scale:g}"]
        if self.seed is not None:
            arguments += ["--seed", str(self.seed)]
        return arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--profile``, ``--time-scale`` and ``--seed`` (``streamlab serve`` and ``start``)."""
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="local",
        help="local (default: fast) or aws (AWS's documented delays, quotas and consistency)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="aws profile: multiply every delay by this (1 = AWS's figures)",
    )
    parser.add_argument("--seed", type=int, help="aws profile: seed for its random choices")


def options_from(args: argparse.Namespace) -> ProfileOptions:
    """The options ``add_arguments`` parsed (a bad value is a ``ConfigError``)."""
    if args.profile == "local" and (args.time_scale != 1.0 or args.seed is not None):
        raise ConfigError(
            "--time-scale and --seed apply to the aws profile: add --profile aws, or drop them."
        )
    return ProfileOptions(args.profile, args.time_scale, args.seed)


@dataclass
class AwsProfile:
    """The installed aws profile: its clock and the parts other modules consult."""

    options: ProfileOptions
    clock: ProfileClock
    interceptor: Any  # front.AwsProfileInterceptor

    def describe(self) -> dict[str, Any]:
        return {"name": self.options.name, **self.clock.describe()}


_active: AwsProfile | None = None


def active() -> AwsProfile | None:
    """The aws profile installed in this emulator process, or None (the local profile)."""
    return _active


def install(app: Any, options: ProfileOptions) -> AwsProfile | None:
    """Install ``options``' profile into ``app`` (after the runtime and the pollers)."""
    global _active
    if options.name == "local":
        _active = None
        return None
    from .. import runtime
    from ..runtime import states
    from .front import AwsProfileInterceptor
    from .functions import LambdaProfile
    from .iam import RoleConsistency
    from .logs import DeferredLogWriter, LogsProfile
    from .mappings import DeletingMappings, MappingTiming
    from .scheduler import Scheduler
    from .tables import TableProfile

    clock = ProfileClock(options.time_scale, options.seed)
    scheduler = Scheduler()
    roles = RoleConsistency(clock, app.moto_lock)
    states.apply(
        lambda: clock.delay("lambda.pending_seconds"),
        lambda: clock.delay("lambda.update_seconds"),
    )
    lambda_runtime = runtime.current()
    lambda_runtime.logs = DeferredLogWriter(lambda_runtime.logs, clock, scheduler)
    app.stream_mappings.profile = MappingTiming(clock)
    interceptor = AwsProfileInterceptor(
        app.forwarder,
        roles=roles,
        functions=LambdaProfile(clock, roles, app.moto_lock),
        tables=TableProfile(clock, scheduler, app.moto_lock),
        logs=LogsProfile(clock),
        mappings=DeletingMappings(clock),
    )
    app.add_interceptor(interceptor, first=True)
    app.shutdown_hooks.append(scheduler.close)
    _active = AwsProfile(options, clock, interceptor)
    app.profile = _active
    return _active


def role_policy_documents(role: Any) -> list[str] | None:
    """The role's policies as other services see them (aws profile), or None: as stored.

    Called by ``pollers.permissions`` with moto's lock held.
    """
    return None if _active is None else _active.interceptor.roles.documents_seen(role)


def shard_rollover_seconds() -> float | None:
    """How long a stream shard stays open before it rolls over into a child (scaled).

    None in the local profile (the shard model keeps its own default). For the
    shard model (several shards, rollover): read it when a shard opens.
    """
    return None if _active is None else _active.clock.delay("streams.shard_rollover_seconds")


def stream_limit_seconds() -> tuple[float, float] | None:
    """``(iterator life, record retention)`` in seconds, scaled (the aws profile), or None.

    In the local profile the shard model keeps AWS's own figures unscaled
    (``stream_shards.ITERATOR_SECONDS``, ``RETENTION_SECONDS``).
    """
    if _active is None:
        return None
    clock = _active.clock
    return clock.delay("streams.iterator_seconds"), clock.delay("streams.retention_seconds")
