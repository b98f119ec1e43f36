"""One execution environment: a worker process, its Runtime API and its output.

The worker is forked from the runtime's template process or spawned (see
``worker_start``). An environment runs one invocation at a time, as on Lambda. It starts cold
(the worker imports the handler, then asks for work: that span is the
``Init Duration``), stays warm between invocations so module state persists,
and is killed on timeout, on running out of memory, or when the pool retires
it. Everything the worker prints is captured line by line with the time it was
read; the worker writes a flush marker before each result and before each
request for work, so every line is attributed to the right invocation.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil

from ..identities import KeyPair, issued
from .functions import FunctionSpec
from .runtime_api import NextInvocation, RuntimeApiHandlers, RuntimeApiServer
from .settings import RuntimeSettings
from .worker_start import INTERPRETER_FLAGS, WorkerTemplate, start_worker

# Keep in step with worker.FLUSH_MARKER.
FLUSH_MARKER = b"\x1e\x1eLAB-RUNTIME-FLUSH "
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit for the init phase
TICK_SECONDS = 0.05  # how often a running invocation checks time, memory and the process


def function_credentials(keys: KeyPair | None = None) -> dict[str, str]:
    """The variables that hold a function's own credentials, as Lambda sets its role's.

    They are the emulator-issued ``function`` keys (see ``identities``), never the
    notebook's nor real ones, so a function's calls are signed and told apart.
    """
    keys = keys or issued().function
    return {"AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key}


_HOST_VARIABLES_POSIX = ("PATH",)
_HOST_VARIABLES_WINDOWS = ("PATH", "SYSTEMROOT", "SYSTEMDRIVE", "TEMP", "TMP", "COMSPEC", "PATHEXT")


@dataclass
class LogLine:
    timestamp_ms: int
    text: str


@dataclass
class Outcome:
    """How one invocation ended, as ``LambdaRuntime`` needs it for the reply and the log."""

    request_id: str
    status: str  # success | error | init_error | timeout | exited | out_of_memory
    payload: bytes = b""
    content_type: str = "application/json"
    error_type: str | None = None
    start_ms: int = 0
    duration_ms: float = 0.0
    init_duration_ms: float | None = None
    max_memory_mb: int = 0
    pre_lines: list[LogLine] = field(default_factory=list)
    lines: list[LogLine] = field(default_factory=list)

    @property
    def function_error(self) -> bool:
        return self.status != "success"


class _Invocation:
    def __init__(self, request_id: str, payload: bytes, headers: dict[str, str]) -> None:
        self.request_id = request_id
        self.payload = payload
        self.headers = headers
        self.done = threading.Event()
        self.flushed = threading.Event()
        self.dispatched_at: float | None = None
        self.dispatched_ms = 0
        self.finished_at: float | None = None
        self.body = b""
        self.content_type = "application/json"
        self.error_type: str | None = None
        self.failed = False
        self.pre_lines: list[LogLine] = []


def now_ms() -> int:
    return int(time.time() * 1000)


def log_stream_name(version: str) -> str:
    """AWS's name for an environment's stream: ``YYYY/MM/DD/[VERSION]`` + 32 hex."""
    day = datetime.now(timezone.utc).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{uuid.uuid4().hex}"


def trace_header() -> str:
    epoch = f"{int(time.time()):08x}"
    return f"Root=1-{epoch}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _peak_memory_bytes(process: psutil.Process, sampled: int) -> int:
    """The environment's peak resident memory: exact on Linux and Windows, sampled elsewhere."""
    try:
        if sys.platform.startswith("linux"):
            with open(f"/proc/{process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return max(sampled, int(line.split()[1]) * 1024)
        info = process.memory_info()
        return max(sampled, getattr(info, "peak_wset", 0), info.rss)
    except (OSError, psutil.Error):
        return sampled


class ExecutionEnvironment(RuntimeApiHandlers):
    """A warm-able worker process for one function version and configuration."""

    def __init__(
        self,
        spec: FunctionSpec,
        settings: RuntimeSettings,
        *,
        task_root: str,
        layer_paths: list[str],
        endpoint: str,
        allowed_packages: dict[str, str],
        template: WorkerTemplate | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.fingerprint = spec.fingerprint
        self.log_stream = log_stream_name(spec.version)
        self.created_at = time.monotonic()
        self.last_used = self.created_at
        self.invocations = 0
        self.retired = False
        self._queue: queue.Queue[_Invocation | None] = queue.Queue()
        self._current: _Invocation | None = None
        self._lines: list[LogLine] = []
        self._lines_lock = threading.Lock()
        self._ready_at: float | None = None
        self._init_error: tuple[bytes, str] | None = None
        self._init_flushed = threading.Event()
        self._next_marker = threading.Event()
        self._init_reported = False
        self._peak_sampled = 0
        self._server = RuntimeApiServer(self)
        self._spawned_at = time.perf_counter()
        self.process = start_worker(
            template,
            [sys.executable, *INTERPRETER_FLAGS, str(WORKER_SCRIPT)],
            task_root,
            self._environment(task_root, layer_paths, endpoint, allowed_packages),
        )
        self._ps = psutil.Process(self.process.pid)
        self._reader = threading.Thread(
            target=self._read_output, name=f"lambda-output-{spec.name}", daemon=True
        )
        self._reader.start()

    # ------------------------------------------------------------------ setup

    def _environment(
        self,
        task_root: str,
        layer_paths: list[str],
        endpoint: str,
        allowed_packages: dict[str, str],
    ) -> dict[str, str]:
        spec = self.spec
        host = _HOST_VARIABLES_WINDOWS if os.name == "nt" else _HOST_VARIABLES_POSIX
        env = {name: os.environ[name] for name in host if name in os.environ}
        env.update(spec.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_RUNTIME_API": self._server.address,
                "AWS_REGION": spec.region,
                "AWS_DEFAULT_REGION": spec.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "LAMBDA_TASK_ROOT": task_root,
                "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
                "_HANDLER": spec.handler,
                "LANG": "en_US.UTF-8",
                # The handler's boto3 reaches the emulator, never real AWS.
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                **function_credentials(),
                "LAB_RUNTIME_WORKER": self.settings.worker,
                "LAB_RUNTIME_LAYER_PATHS": os.pathsep.join(layer_paths),
                "LAB_RUNTIME_ALLOWED_PACKAGES": json.dumps(allowed_packages),
                "LAB_RUNTIME_PARENT_PID": str(os.getpid()),
            }
        )
        if os.name != "nt":
            env["TZ"] = ":UTC"
        return env

    # ------------------------------------------------------------------ worker output

    def _read_output(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for raw in iter(stream.readline, b""):
            marker = raw.find(FLUSH_MARKER)
            text_part = raw if marker < 0 else raw[:marker]
            text = text_part.decode("utf-8", errors="replace").rstrip("\n")
            if text_part.strip(b"\n"):
                with self._lines_lock:
                    self._lines.append(LogLine(now_ms(), text))
            if marker >= 0:
                request_id = raw[marker + len(FLUSH_MARKER) :].strip().decode(errors="replace")
                self._flushed(request_id)
        stream.close()

    def _flushed(self, request_id: str) -> None:
        if request_id == "next":
            self._next_marker.set()
            return
        if request_id == "init":
            self._init_flushed.set()
            return
        current = self._current
        if current is not None and current.request_id == request_id:
            current.flushed.set()

    def _take_lines(self) -> list[LogLine]:
        with self._lines_lock:
            lines, self._lines = self._lines, []
        return lines

    # ------------------------------------------------------------------ Runtime API

    def next_invocation(self) -> NextInvocation | None:
        if self._ready_at is None:
            self._ready_at = time.perf_counter()
        invocation = self._queue.get()
        if invocation is None:
            return None
        # The worker marks its output before each GET /next: what came before belongs
        # before this START (the init phase's output, or stray background output).
        self._next_marker.wait(1.0)
        self._next_marker.clear()
        invocation.pre_lines = self._take_lines()
        invocation.dispatched_at = time.perf_counter()
        invocation.dispatched_ms = now_ms()
        deadline = invocation.dispatched_ms + self.spec.timeout * 1000
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": self.spec.invoked_arn,
            "Lambda-Runtime-Trace-Id": trace_header(),
            **invocation.headers,
        }
        return NextInvocation(invocation.request_id, invocation.payload, headers)

    def _finish(
        self, request_id: str, body: bytes, content_type: str, error_type: str | None
    ) -> bool:
        current = self._current
        if current is None or current.request_id != request_id or current.done.is_set():
            return False
        current.finished_at = time.perf_counter()
        current.body = body
        current.content_type = content_type
        current.failed = error_type is not None
        current.error_type = error_type
        current.done.set()
        return True

    def invocation_response(self, request_id: str, body: bytes, content_type: str) -> bool:
        return self._finish(request_id, body, content_type or "application/json", None)

    def invocation_error(self, request_id: str, body: bytes, error_type: str) -> bool:
        try:
            error_type = json.loads(body).get("errorType") or error_type
        except (ValueError, AttributeError):
            pass
        return self._finish(request_id, body, "application/json", error_type or "Unhandled")

    def init_error(self, body: bytes, error_type: str) -> None:
        self._init_error = (body, error_type)
        current = self._current
        if current is not None:
            current.done.set()

    # ------------------------------------------------------------------ invoking

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(
        self, request_id: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> Outcome:
        """Run one invocation to its end.

        Afterwards the environment is dead unless the function returned or raised normally.
        """
        invocation = _Invocation(request_id, payload, headers or {})
        cold = self.invocations == 0
        self.invocations += 1
        self._current = invocation
        submitted_ms = now_ms()
        self._queue.put(invocation)
        status = self._wait(invocation)
        outcome = self._outcome(invocation, status, cold, submitted_ms)
        self._current = None
        self.last_used = time.monotonic()
        if status not in ("success", "error"):
            self.close()
        return outcome

    def _rss(self) -> int:
        try:
            return self._ps.memory_info().rss
        except psutil.Error:
            return 0

    def _wait(self, invocation: _Invocation) -> str:
        limit_bytes = self.spec.memory_size * 1024 * 1024
        init_deadline = self._spawned_at + INIT_TIMEOUT_SECONDS
        while True:
            if invocation.done.wait(TICK_SECONDS):
                break
            if self._init_error is not None:
                break
            if not self.alive:
                # The result may have arrived just before the exit.
                if invocation.done.wait(TICK_SECONDS):
                    break
                return "init_error" if self._init_error is not None else "exited"
            now = time.perf_counter()
            rss = self._rss()
            self._peak_sampled = max(self._peak_sampled, rss)
            if invocation.dispatched_at is None:
                if now > init_deadline:
                    return "timeout"
                continue
            if now > invocation.dispatched_at + self.spec.timeout:
                return "timeout"
            if rss > limit_bytes:
                return "out_of_memory"
        if self._init_error is not None and invocation.finished_at is None:
            self._init_flushed.wait(1.0)
            return "init_error"
        invocation.flushed.wait(1.0)
        return "error" if invocation.failed else "success"

    def _outcome(
        self, invocation: _Invocation, status: str, cold: bool, submitted_ms: int
    ) -> Outcome:
        now = time.perf_counter()
        init_ms = None
        if cold:
            ready = self._ready_at or now
            init_ms = (min(ready, invocation.dispatched_at or ready) - self._spawned_at) * 1000
        if status in ("timeout", "exited", "out_of_memory", "init_error"):
            self._kill()
            self._reader.join(timeout=1.0)
        peak = (
            _peak_memory_bytes(self._ps, self._peak_sampled) if self.alive else self._peak_sampled
        )
        self._peak_sampled = max(self._peak_sampled, peak)
        started = invocation.dispatched_at
        start_ms = invocation.dispatched_ms or submitted_ms
        if status == "timeout" and started is not None:
            duration = self.spec.timeout * 1000.0
        elif started is not None:
            duration = ((invocation.finished_at or now) - started) * 1000
        else:
            duration = 0.0
        pre = invocation.pre_lines
        during = self._take_lines()
        outcome = Outcome(
            request_id=invocation.request_id,
            status=status,
            start_ms=start_ms,
            duration_ms=duration,
            init_duration_ms=init_ms,
            max_memory_mb=max(1, round(self._peak_sampled / (1024 * 1024))),
            pre_lines=pre,
            lines=during,
        )
        if status in ("success", "error"):
            outcome.payload = invocation.body
            outcome.content_type = invocation.content_type
            outcome.error_type = invocation.error_type
        elif status == "init_error" and self._init_error is not None:
            outcome.payload, outcome.error_type = self._init_error
            try:
                outcome.error_type = (
                    json.loads(outcome.payload).get("errorType") or outcome.error_type
                )
            except (ValueError, AttributeError):
                pass
            # The init phase's output comes before START.
            outcome.pre_lines, outcome.lines = outcome.pre_lines + outcome.lines, []
        return outcome

    # ------------------------------------------------------------------ ending

    def _kill(self, wait: bool = True) -> None:
        """Kill the worker and whatever the handler started, as Lambda ends a sandbox.

        ``wait=False`` sends the signal and leaves collecting the exit to a thread.
        """
        if os.name != "nt":
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own group: see worker_start
            except OSError:
                pass
        elif self.process.poll() is None:
            try:
                for child in self._ps.children(recursive=True):
                    child.kill()
            except psutil.Error:
                pass
        if self.process.poll() is None:
            try:
                self.process.kill()
            except OSError:
                pass
        if wait:
            self._collect()
        else:
            threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self, wait: bool = True) -> None:
        """End the worker and free its port; safe to call more than once.

        ``wait=False`` (the pool ending an environment while answering an
        invocation) returns once the worker is signalled, without waiting
        for it to exit: the answer never waits for another environment's end.
        """
        self.retired = True
        self._queue.put(None)
        self._kill(wait)
        threading.Thread(target=self._server.close, daemon=True).start()
