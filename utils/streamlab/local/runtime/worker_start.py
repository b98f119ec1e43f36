"""How an execution environment's worker process starts: forked from a template, or spawned.

``fork`` (the default on Linux and macOS with the builtin worker): one template
process per emulator (``forkserver.py``) has already imported the worker and
boto3; each environment's worker is a fork of it, so a cold start costs a fork
instead of an interpreter start and the imports, and the workers share the
template's memory copy-on-write.

``spawn`` (Windows, ``LAB_LAMBDA_WORKER=awslambdaric``, ``LAB_LAMBDA_START=spawn``,
or whenever the template cannot be used): a fresh interpreter per worker, as
before.

We keep our own small template rather than ``multiprocessing.forkserver``:
that one starts its server with the emulator's interpreter flags and
``sys.path`` (site-packages and all, which the handler must not see), runs
children through multiprocessing's bootstrap, and passes no standard streams,
so the worker's output could not reach the emulator's log capture without the
same descriptor passing we do here.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from . import forkserver

log = logging.getLogger("streamlab.emulator")

FORKSERVER_SCRIPT = Path(forkserver.__file__)
INTERPRETER_FLAGS = ("-I", "-S", "-B", "-u", "-X", "utf8")
READY_TIMEOUT_SECONDS = 30.0  # the template imports boto3 once; a loaded machine may be slow
SPAWN_TIMEOUT_SECONDS = 10.0
MAX_FAILURES = 3  # after this many broken templates, every worker is spawned
_NEW_PROCESS_GROUP: dict = (
    {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    if os.name == "nt"
    else {"start_new_session": True}
)


class TemplateUnavailable(RuntimeError):
    """The template cannot fork a worker now; the caller spawns one instead."""


def fork_available() -> bool:
    """Whether this platform can fork workers from a template."""
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and os.name == "posix"


class ForkedWorker:
    """A worker forked by the template: the part of ``subprocess.Popen`` the runtime uses.

    It is the template's child, not ours, so its exit status arrives as a
    message from the template rather than from ``waitpid``.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = None  # set by the template client once the fork is confirmed
        self._exited = threading.Event()

    def _ended(self, returncode: int) -> None:
        self.returncode = returncode
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass


class WorkerTemplate:
    """The emulator's end of the template process: start it, ask it for workers, stop it."""

    def __init__(self, allowed_packages: Mapping[str, str]) -> None:
        self._allowed = dict(allowed_packages)
        self._lock = threading.Lock()  # one request at a time; a fork takes about a millisecond
        self._state = threading.Condition()
        self._process: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._ready = False
        self._reply: dict | ForkedWorker | None = None
        self._workers: dict[int, ForkedWorker] = {}
        self._closed = False
        self._failures = 0

    # ------------------------------------------------------------------ the template

    def start(self) -> None:
        """Start the template in the background (it preloads while the emulator starts)."""
        with self._state:
            if self._closed or self._process is not None or self._failures >= MAX_FAILURES:
                return
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            env = {name: os.environ[name] for name in ("PATH",) if name in os.environ}
            env.update(
                LAB_TEMPLATE_FD=str(theirs.fileno()),
                LAB_RUNTIME_ALLOWED_PACKAGES=json.dumps(self._allowed),
                TZ=":UTC",
                LANG="en_US.UTF-8",
                # What every worker gets (environment.py): the preloaded boto3 session
                # must never read this machine's AWS files.
                AWS_CONFIG_FILE=os.devnull,
                AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            )
            try:
                self._process = subprocess.Popen(
                    [sys.executable, *INTERPRETER_FLAGS, str(FORKSERVER_SCRIPT)],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    pass_fds=(theirs.fileno(),),
                    **_NEW_PROCESS_GROUP,
                )
            except OSError as exc:
                ours.close()
                log.warning("worker template not started (%s): spawning workers instead", exc)
                self._failures += 1
                return
            finally:
                theirs.close()
            self._sock = ours
            self._ready = False
            threading.Thread(
                target=self._read_loop,
                args=(ours, self._process),
                name="lambda-template",
                daemon=True,
            ).start()

    def _read_loop(self, sock: socket.socket, process: subprocess.Popen) -> None:
        try:
            while True:
                message, fds = forkserver.read_message(sock)
                for fd in fds:
                    os.close(fd)
                if message is None:
                    break
                self._dispatch(message)
        except (OSError, ValueError):
            pass
        with self._state:
            if self._sock is sock:
                if not self._ready and not self._closed:
                    self._failures += 1
                    log.warning("worker template exited before it was ready (see above)")
                self._sock, self._process, self._ready = None, None, False
            orphans = list(self._workers.values())
            self._workers.clear()
            self._state.notify_all()
        # The template is gone: its workers exit on their own (their parent changed);
        # make sure of it and report them ended.
        for worker in orphans:
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except OSError:
                pass
            worker._ended(-signal.SIGKILL)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        sock.close()

    def _dispatch(self, message: dict) -> None:
        with self._state:
            if "ready" in message:
                self._ready = True
            elif "spawned" in message:
                worker = ForkedWorker(int(message["spawned"]))
                self._workers[worker.pid] = worker
                self._reply = worker
            elif "failed" in message:
                self._reply = message
            elif "exit" in message:
                worker = self._workers.pop(int(message["exit"]), None)
                if worker is not None:
                    worker._ended(int(message["code"]))
            self._state.notify_all()

    # ------------------------------------------------------------------ forking

    def spawn(self, cwd: str, env: Mapping[str, str]) -> ForkedWorker:
        """A new worker in ``cwd`` with exactly ``env``; raises ``TemplateUnavailable``."""
        with self._lock:
            self.start()
            read_fd, write_fd = os.pipe()
            try:
                with self._state:
                    if not self._state.wait_for(
                        lambda: self._ready or self._sock is None or self._closed,
                        READY_TIMEOUT_SECONDS,
                    ):
                        self._restart("did not get ready")
                    if not self._ready or self._sock is None:
                        raise TemplateUnavailable("the worker template is not running")
                    self._reply = None
                    sock = self._sock
                try:
                    forkserver.write_message(sock, {"cwd": cwd, "env": dict(env)}, (write_fd,))
                except OSError as exc:
                    raise TemplateUnavailable(f"the worker template is gone ({exc})") from None
                with self._state:
                    if not self._state.wait_for(
                        lambda: self._reply is not None or self._sock is not sock,
                        SPAWN_TIMEOUT_SECONDS,
                    ):
                        self._restart("did not answer")
                    reply, self._reply = self._reply, None
                if not isinstance(reply, ForkedWorker):
                    reason = reply.get("failed") if isinstance(reply, dict) else "it stopped"
                    raise TemplateUnavailable(f"the worker template could not fork: {reason}")
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)
            reply.stdout = os.fdopen(read_fd, "rb")
            return reply

    def _restart(self, why: str) -> None:
        """Stop a template that misbehaves; the next request starts a new one (lock held)."""
        log.warning("worker template %s: restarting it", why)
        process = self._process
        if process is not None:
            try:
                process.kill()
            except OSError:
                pass
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._sock, self._process, self._ready = None, None, False
        self._failures += 1
        raise TemplateUnavailable(f"the worker template {why}")

    @property
    def pid(self) -> int | None:
        """The template's process id while it runs (for tests and measurements)."""
        process = self._process
        return process.pid if process is not None else None

    def close(self) -> None:
        """Stop the template; it kills any worker still running."""
        with self._state:
            self._closed = True
            sock, process = self._sock, self._process
            self._state.notify_all()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def spawn_worker(command: list[str], cwd: str, env: Mapping[str, str]) -> subprocess.Popen:
    """A fresh interpreter running the worker script, in its own process group."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Its own process group: Ctrl-C in the emulator's terminal is for the emulator,
        # which then ends its workers; a worker also exits when the emulator is gone.
        **_NEW_PROCESS_GROUP,
    )


def start_worker(
    template: WorkerTemplate | None, command: list[str], cwd: str, env: Mapping[str, str]
) -> subprocess.Popen | ForkedWorker:
    """Fork the worker from ``template`` when there is one that works, else spawn it."""
    if template is not None:
        try:
            return template.spawn(cwd, env)
        except TemplateUnavailable as exc:
            log.info("%s: spawning the worker instead", exc)
    return spawn_worker(command, cwd, env)
