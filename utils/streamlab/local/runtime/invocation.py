"""The runtime's core: run one invocation of a function and report it as Lambda does.

``LambdaRuntime.invoke`` is the in-process API (see the package docstring);
the HTTP interceptor and the async queue both go through it. It reads the
function from moto briefly under the lock, refuses what Lambda would refuse
(unknown function, Pending state, payload too large, a runtime this machine
cannot run), takes an environment from the pool, runs the code without any
lock held, writes the log, and shapes the result.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from .api_errors import LambdaApiError, invalid_json, request_too_large
from .codestore import CodeStore
from .cwlogs import LogWriter, invocation_events, tail
from .environment import ExecutionEnvironment, Outcome, now_ms
from .functions import FunctionSpec, function_exists, load_function
from .pool import EnvironmentPool
from .results import InvocationResult, outcome_payload
from .settings import RuntimeSettings
from .worker_start import WorkerTemplate

MAX_SYNC_REQUEST_BYTES = 6 * 1024 * 1024
MAX_ASYNC_REQUEST_BYTES = 256 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")

# What Lambda's Python runtime ships besides the standard library: boto3 and its
# dependencies. Everything else on this machine stays invisible to handlers.
AWS_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
AWSLAMBDARIC_PACKAGES = ("awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py")


def package_locations(names: tuple[str, ...]) -> dict[str, str]:
    """Top-level package name -> the folder that holds it, for the worker's import allowlist."""
    locations: dict[str, str] = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        if spec.submodule_search_locations:
            locations[name] = str(Path(list(spec.submodule_search_locations)[0]).parent)
        else:
            locations[name] = str(Path(spec.origin).parent)
    return locations


class LambdaRuntime:
    """Runs functions stored in moto, in local execution environments."""

    def __init__(
        self,
        *,
        moto_lock: threading.RLock,
        endpoint: Callable[[], str],
        settings: RuntimeSettings,
        code_root: Path,
    ) -> None:
        self.moto_lock = moto_lock
        self.endpoint = endpoint
        self.settings = settings
        self.code = CodeStore(code_root)
        self.logs = LogWriter(moto_lock)
        names = AWS_RUNTIME_PACKAGES
        if settings.worker == "awslambdaric":
            names = names + AWSLAMBDARIC_PACKAGES
        self.allowed_packages = package_locations(names)
        self.template: WorkerTemplate | None = None
        if settings.start == "fork":
            self.template = WorkerTemplate(self.allowed_packages)
            self.template.start()  # it preloads while the emulator starts
        self.pool = EnvironmentPool(settings, self._new_environment, self._function_exists)
        self.async_queue = None  # set by install(): async_invoke.AsyncInvoker

    # ------------------------------------------------------------------ helpers

    def _function_exists(self, key: tuple[str, str, str]) -> bool:
        account_id, region, name = key
        return function_exists(self.moto_lock, account_id, region, name)

    def _new_environment(self, spec: FunctionSpec) -> ExecutionEnvironment:
        return ExecutionEnvironment(
            spec,
            self.settings,
            task_root=str(self.code.task_root(spec)),
            layer_paths=self.code.layer_paths(spec),
            endpoint=self.endpoint(),
            allowed_packages=self.allowed_packages,
            template=self.template,
        )

    def load(
        self, function: str, *, region: str, account_id: str, qualifier: str | None = None
    ) -> FunctionSpec:
        """The function as Invoke would run it, or the ``LambdaApiError`` Invoke would return."""
        spec = load_function(
            self.moto_lock, function, account_id=account_id, region=region, qualifier=qualifier
        )
        if spec.state == "Pending":
            raise LambdaApiError(
                409,
                "ResourceConflictException",
                "The operation cannot be performed at this time. "
                "The function is currently in the following state: Pending",
            )
        if spec.package_type != "Zip" or not spec.runtime.startswith("python"):
            kind = "container images" if spec.package_type != "Zip" else f"runtime {spec.runtime!r}"
            raise LambdaApiError(
                400,
                "InvalidRuntimeException",
                f"The local backend runs Python functions only and cannot run {kind} "
                f"(function {spec.name}): use a python3.x runtime, or LAB_BACKEND=aws.",
            )
        return spec

    @staticmethod
    def check_payload(payload: bytes, invocation_type: str) -> bytes:
        limit = MAX_ASYNC_REQUEST_BYTES if invocation_type == "Event" else MAX_SYNC_REQUEST_BYTES
        if len(payload) > limit:
            raise request_too_large(limit)
        if not payload.strip():
            return b"{}"
        try:
            json.loads(payload)
        except ValueError as exc:
            raise invalid_json(str(exc)) from None
        return payload

    # ------------------------------------------------------------------ the API

    def invoke(
        self,
        function: str,
        payload: bytes = b"",
        *,
        region: str,
        account_id: str,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        client_context: str | None = None,
    ) -> InvocationResult:
        """Invoke as Lambda's Invoke API does; raises ``LambdaApiError`` where Lambda refuses."""
        if invocation_type not in INVOCATION_TYPES:
            raise LambdaApiError(
                400,
                "InvalidParameterValueException",
                f"Unsupported invocation type {invocation_type!r}: use one of "
                + ", ".join(INVOCATION_TYPES),
            )
        spec = self.load(function, region=region, account_id=account_id, qualifier=qualifier)
        payload = self.check_payload(payload, invocation_type)
        if invocation_type == "DryRun":
            return InvocationResult(204, executed_version=spec.version)
        request_id = str(uuid.uuid4())
        if invocation_type == "Event":
            assert self.async_queue is not None
            self.async_queue.submit(function, qualifier, region, account_id, payload, request_id)
            return InvocationResult(202, request_id=request_id)
        return self.run(spec, payload, request_id, client_context=client_context)

    def run(
        self,
        spec: FunctionSpec,
        payload: bytes,
        request_id: str,
        *,
        client_context: str | None = None,
    ) -> InvocationResult:
        """Run ``spec`` once in a pooled environment, write its log, shape its result."""
        env = self.pool.acquire(spec)
        try:
            headers = {"Lambda-Runtime-Client-Context": client_context} if client_context else {}
            outcome = env.invoke(request_id, payload, headers)
            returncode = env.process.poll()
        finally:
            self.pool.release(spec, env)
        return self._result(spec, env, outcome, returncode)

    def _result(
        self,
        spec: FunctionSpec,
        env: ExecutionEnvironment,
        outcome: Outcome,
        returncode: int | None,
    ) -> InvocationResult:
        events = invocation_events(spec, outcome, now_ms())
        try:
            self.logs.write(spec, env.log_stream, events)
        except Exception:  # a log that cannot be written must not lose the result
            pass
        body, function_error = outcome_payload(outcome, spec.timeout, returncode)
        return InvocationResult(
            status_code=200,
            payload=body,
            function_error=function_error,
            executed_version=spec.version,
            log_result=tail(events),
            request_id=outcome.request_id,
        )

    def close(self) -> None:
        if self.async_queue is not None:
            self.async_queue.close()
        self.pool.close()
        if self.template is not None:
            self.template.close()
        self.code.close()
