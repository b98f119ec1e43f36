"""Starts, finds and stops the background emulator.

The emulator is a detached process, one per port, so tables survive notebook
and kernel restarts like an AWS account's do. A pid file (JSON) and a log file
live in the state folder (see ``paths``). The health endpoint is the source of
truth: a pid file whose process is gone is stale and removed; a program on the
port that is not ours is reported, never killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from .._version import __version__
from ..errors import EmulatorError
from . import paths
from .health import Health, probe
from .profiles import ProfileOptions

START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Status:
    """What ``status`` found on a port, with a sentence for people."""

    running: bool
    message: str
    pid: int | None = None


def _endpoint(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _read_pid_file(port: int) -> dict | None:
    try:
        return json.loads(paths.pid_file(port).read_text())
    except (OSError, ValueError):
        return None


def _process_alive(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _foreign_error(port: int) -> EmulatorError:
    return EmulatorError(
        f"Port {port} is used by another program, not the streamlab emulator: stop that "
        f"program, or use another port (LAB_ENDPOINT=http://127.0.0.1:{port + 1})."
    )


def remove_stale_pid_file(port: int) -> bool:
    """Delete the pid file if its process is gone; say whether it was stale."""
    record = _read_pid_file(port)
    if record is None:
        if paths.pid_file(port).exists():
            paths.pid_file(port).unlink(missing_ok=True)
            return True
        return False
    if _process_alive(int(record.get("pid", -1))):
        return False
    paths.pid_file(port).unlink(missing_ok=True)
    return True


def status(port: int) -> Status:
    health = probe(_endpoint(port))
    if health.is_ours:
        info = health.info
        note = ""
        if info.get("version") != __version__:
            note = f" (it is version {info.get('version')}; run `streamlab stop` to update)"
        profile = info.get("profile") or {"name": "local"}
        if profile.get("name") != "local":
            note += (
                f" (profile {profile.get('name')}, time scale {profile.get('time_scale')}, "
                f"seed {profile.get('seed')})"
            )
        return Status(
            True,
            f"emulator running on {_endpoint(port)}, pid {info.get('pid')}, "
            f"version {info.get('version')}{note}; log: {paths.log_file(port)}",
            info.get("pid"),
        )
    if health.state == "foreign":
        return Status(False, str(_foreign_error(port)))
    if remove_stale_pid_file(port):
        return Status(
            False,
            f"emulator not running (it stopped unexpectedly; removed its stale pid file; "
            f"see {paths.log_file(port)}): run `streamlab start`",
        )
    return Status(False, f"emulator not running on port {port}: run `streamlab start`")


def _spawn(port: int, profile: ProfileOptions | None) -> subprocess.Popen:
    output = open(paths.output_file(port), "wb")  # noqa: SIM115 - handed to the child
    command = [sys.executable, "-m", "streamlab.local.server", "--port", str(port)]
    command += ["--log-file", str(paths.log_file(port))]
    command += profile.as_arguments() if profile is not None else []
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": output, "stderr": subprocess.STDOUT}
    if os.name == "nt":
        kwargs["creationflags"] = (
            subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
        )
    else:
        kwargs["start_new_session"] = True
    try:
        return subprocess.Popen(command, **kwargs)
    finally:
        output.close()


def _log_tail(port: int, lines: int = 3) -> str:
    """The last lines the emulator wrote: its crash output first, else its request log."""
    for path in (paths.output_file(port), paths.log_file(port)):
        try:
            text = Path(path).read_text(errors="replace").strip().splitlines()
        except OSError:
            continue
        if text:
            return " | ".join(text[-lines:])
    return ""


def _check_profile(port: int, health: Health, profile: ProfileOptions | None) -> None:
    """A running emulator is reused only if it plays the profile asked for (if one was)."""
    if profile is None:
        return
    running = health.info.get("profile") or {"name": "local"}
    wanted = {"name": profile.name}
    if profile.name != "local":
        wanted.update(time_scale=profile.time_scale, seed=profile.seed)
    if {key: running.get(key) for key in wanted} != wanted:
        raise EmulatorError(
            f"The emulator on port {port} runs the {running.get('name')} profile "
            f"({running}), not the one asked for: `streamlab stop --port {port}`, then start "
            "it again with the options you want."
        )


def start(port: int, profile: ProfileOptions | None = None) -> Health:
    """Make sure our emulator serves ``port``; start it in the background if needed.

    ``profile`` (``streamlab start --profile aws ...``) is passed to a new emulator;
    a running one that plays another profile is an ``EmulatorError``. None: any.
    """
    health = probe(_endpoint(port))
    if health.is_ours:
        _check_profile(port, health, profile)
        return health
    if health.state == "foreign":
        raise _foreign_error(port)
    remove_stale_pid_file(port)
    child = _spawn(port, profile)
    paths.pid_file(port).write_text(
        json.dumps({"pid": child.pid, "port": port, "version": __version__})
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        health = probe(_endpoint(port), timeout=1.0)
        if health.is_ours:
            return health
        if child.poll() is not None:
            paths.pid_file(port).unlink(missing_ok=True)
            # Another process may have won a race to start it on the same port.
            health = probe(_endpoint(port))
            if health.is_ours:
                return health
            raise EmulatorError(
                f"The emulator exited while starting (code {child.returncode}): "
                f"{_log_tail(port) or 'no log'}; full log in {paths.log_file(port)}"
            )
        time.sleep(0.1)
    raise EmulatorError(
        f"The emulator did not answer within {START_TIMEOUT_SECONDS:.0f} s; "
        f"see {paths.log_file(port)}, then `streamlab stop` and try again."
    )


def stop(port: int, timeout: float = 15.0) -> Status:
    """Stop the emulator on ``port`` and every process it started."""
    health = probe(_endpoint(port))
    if health.state == "foreign":
        raise _foreign_error(port)
    pid = health.info.get("pid") if health.is_ours else None
    if pid is None:
        record = _read_pid_file(port)
        if record and _process_alive(int(record["pid"])):
            pid = int(record["pid"])
    if pid is None:
        stale = remove_stale_pid_file(port)
        return Status(
            False, "emulator was not running" + (" (removed a stale pid file)" if stale else "")
        )
    try:
        process = psutil.Process(pid)
        children = process.children(recursive=True)
        process.terminate()
        gone, alive = psutil.wait_procs([process], timeout=timeout)
        for leftover in alive + [c for c in children if c.is_running()]:
            try:
                leftover.kill()
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    paths.pid_file(port).unlink(missing_ok=True)
    return Status(False, f"emulator on port {port} stopped")
