"""Runs the emulator in the foreground: ``streamlab serve`` and the background child.

Binds loopback only unless the caller passes ``allow_remote``; the request log
(``request_log``: one line per request, rotated by size) goes to ``--log-file``,
which the background launcher sets, or to standard output in the foreground, so it
never reaches a notebook.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from ..config import DEFAULT_PORT, LOOPBACK_HOSTS
from ..errors import ConfigError, EmulatorError
from . import (
    botocore_models,
    memory,
    moto_instances,
    moto_managed_policies,
    moto_patches,
    paths,
    profiles,
    request_log,
    stream_shards,
)
from .app import EmulatorApp
from .extensions import install_extensions
from .profiles import ProfileOptions

log = logging.getLogger("streamlab.emulator")
DEFAULT_IDLE_SECONDS = 7200.0  # two hours without a request: nobody is coming back soon


class _QuickRequestHandler(MotoRequestHandler):
    # Without this every small response waits ~40 ms for Nagle's algorithm.
    disable_nagle_algorithm = True


def build_app(
    host: str,
    port: int,
    profile: ProfileOptions | None = None,
    shard_policy: stream_shards.ShardPolicy | None = None,
) -> EmulatorApp:
    """The emulator application with moto corrected, every extension and the profile installed.

    ``shard_policy`` says how streams enabled from now on are split and roll over
    (default: several shards, no rollover; the aws profile adds AWS's rollover timing)
    and how long iterators and records live (AWS's 15 minutes and 24 hours; the aws
    profile scales them by its time scale).
    """
    moto_patches.apply()
    moto_instances.apply()
    moto_managed_policies.apply()
    botocore_models.share_with_moto()
    app = EmulatorApp(host=host, port=port)
    install_extensions(app)
    profiles.install(app, profile or ProfileOptions())
    if app.profile is not None:  # --profile aws: participants' calls are decided as IAM does
        app.profile.interceptor.authorizer = app.participants.authorize
    policy = shard_policy or stream_shards.current_policy()
    rollover = profiles.shard_rollover_seconds()  # the aws profile: AWS's timing, scaled
    if rollover is not None and policy.rollover_seconds is None:
        policy = dataclasses.replace(policy, rollover_seconds=rollover)
    limits = profiles.stream_limit_seconds()  # the aws profile: 15 min and 24 h, scaled
    if limits is not None:
        policy = dataclasses.replace(
            policy, iterator_seconds=limits[0], retention_seconds=limits[1]
        )
    stream_shards.configure(policy)
    return app


def idle_seconds_setting(environ: dict[str, str] | None = None) -> float:
    """``LAB_EMULATOR_IDLE_SECONDS``: stop after this long without a request (0: never)."""
    env = os.environ if environ is None else environ
    raw = (env.get("LAB_EMULATOR_IDLE_SECONDS") or "").strip()
    if not raw:
        return DEFAULT_IDLE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise EmulatorError(
            f"LAB_EMULATOR_IDLE_SECONDS={raw!r} is not a number of seconds: set it to e.g. "
            f"{DEFAULT_IDLE_SECONDS:.0f}, or 0 to never stop."
        )
    return value


def _housekeeping(app: EmulatorApp, idle_seconds: float, stop: Callable[[], None]) -> None:
    """While the emulator runs: give freed memory back, and stop it when nobody uses it.

    After a burst of work, once the emulator has been quiet a moment, its freed
    memory goes back to the system (see ``memory``). When no request has come
    for ``idle_seconds`` (0: never), it calls ``stop``: a left-behind emulator
    (a closed laptop notebook, a culled hub server) then frees everything, and
    ``connect()`` starts a new one when someone comes back.
    """
    interval = memory.INTERVAL_SECONDS
    if idle_seconds > 0:
        interval = max(0.05, min(interval, idle_seconds / 4))
    busy_since_release = True
    while True:
        time.sleep(interval)
        quiet = time.monotonic() - app.last_request
        if idle_seconds > 0 and quiet >= idle_seconds:
            log.info("no request for %.0f s (LAB_EMULATOR_IDLE_SECONDS): stopping", quiet)
            _forget_pid_file(app.port)
            stop()
            return
        if quiet < memory.QUIET_SECONDS:
            busy_since_release = True
        elif busy_since_release:
            busy_since_release = False
            memory.release_free_memory()


def _forget_pid_file(port: int) -> None:
    """Remove our pid file, so nobody reads the stop as a crash."""
    try:
        path = paths.pid_file(port)
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink(missing_ok=True)
    except (OSError, ValueError, AttributeError):
        pass


def serve(
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    allow_remote: bool = False,
    profile: ProfileOptions | None = None,
    shard_policy: stream_shards.ShardPolicy | None = None,
) -> None:
    """Serve until interrupted, terminated, or idle for ``LAB_EMULATOR_IDLE_SECONDS``."""
    idle_seconds = idle_seconds_setting()
    if host not in LOOPBACK_HOSTS and not allow_remote:
        raise EmulatorError(
            f"Refusing to listen on {host}: the emulator has no authentication. "
            "Use 127.0.0.1, or pass --allow-remote if you really mean to expose it."
        )
    if host not in LOOPBACK_HOSTS:
        log.warning("listening on %s: anyone who can reach this address can use it", host)
    app = build_app("127.0.0.1" if host == "localhost" else host, port, profile, shard_policy)
    try:
        server = make_server(host, port, app, threaded=True, request_handler=_QuickRequestHandler)
    except OSError as exc:
        raise EmulatorError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}): another program uses the "
            "port; stop it or choose another with --port / LAB_ENDPOINT."
        ) from exc
    app.port = server.server_port
    stop_once = threading.Event()

    def stop(*_: object) -> None:
        if not stop_once.is_set():
            stop_once.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(
        target=_housekeeping, args=(app, idle_seconds, stop), name="housekeeping", daemon=True
    ).start()
    if hasattr(signal, "SIGBREAK"):  # Windows console close / CTRL_BREAK
        signal.signal(signal.SIGBREAK, stop)
    log.info("streamlab emulator listening on http://%s:%s", host, app.port)
    if app.profile is not None:
        log.info("profile %s", app.profile.describe())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
        server.server_close()
        log.info("streamlab emulator stopped")


def forget_real_aws_settings() -> None:
    """The emulator never needs real AWS settings: drop them so nothing can use them."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            del os.environ[name]


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """The stream-shard options, shared by ``streamlab serve`` and this module's main."""
    parser.add_argument(
        "--stream-shards", type=int, default=stream_shards.DEFAULT_SHARDS,
        help=f"shards per new stream (default {stream_shards.DEFAULT_SHARDS})",
    )
    parser.add_argument(
        "--shard-rollover-records", type=int, default=None,
        help="close a shard into a child after this many records (default: never)",
    )
    parser.add_argument(
        "--shard-rollover-seconds", type=float, default=None,
        help="close a shard into a child this long after it opened (AWS: about 4 h; "
        "default: never)",
    )


def shard_policy_from(args: argparse.Namespace) -> stream_shards.ShardPolicy:
    try:
        return stream_shards.ShardPolicy(
            shards=args.stream_shards,
            rollover_records=args.shard_rollover_records,
            rollover_seconds=args.shard_rollover_seconds,
        )
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streamlab.local.server")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--allow-remote", action="store_true")
    parser.add_argument("--log-file", type=Path, help="rotated request log (default: stdout)")
    profiles.add_arguments(parser)
    add_shard_arguments(parser)
    args = parser.parse_args(argv)
    memory.limit_arenas()  # before any thread starts
    forget_real_aws_settings()
    request_log.configure(args.log_file)
    try:
        options, policy = profiles.options_from(args), shard_policy_from(args)
        serve(args.port, args.host, args.allow_remote, options, policy)
    except (EmulatorError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
