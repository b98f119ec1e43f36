"""The local Lambda runtime: functions stored in moto really run, without Docker.

How it fits together (one module, one job):

* ``interceptor`` takes ``POST /2015-03-31/functions/<name|ARN>/invocations``
  from moto and answers it as the Lambda API does;
* ``invocation.LambdaRuntime`` reads the function from moto (briefly, under
  ``app.moto_lock``), checks what Lambda checks, runs it and shapes the result;
* ``pool`` keeps execution environments warm, replaces stale ones, caps them
  and reaps idle ones; ``environment`` is one worker process with its
  ``runtime_api`` server; ``worker`` is the runtime client that runs inside it
  (our pure-Python one, or AWS's ``awslambdaric`` with
  ``LAB_LAMBDA_WORKER=awslambdaric``);
* ``cwlogs`` writes START/output/END/REPORT into moto's CloudWatch Logs;
* ``async_invoke`` and ``destinations`` run ``Event`` invocations with retries
  and on-success / on-failure destinations;
* ``states`` gives functions Lambda's Pending/Active and update states;
  ``event_config`` makes moto keep one async invoke configuration per function.

In-process API, for other parts of the emulator (the stream pollers)::

    from streamlab.local import runtime
    result = runtime.invoke(
        "my-function", b'{"Records": []}', region="us-east-1", account_id="123456789012",
        qualifier=None, invocation_type="RequestResponse",
    )
    result.status_code       # 200 (RequestResponse), 202 (Event), 204 (DryRun)
    result.payload           # bytes: the function's result or Lambda's error document
    result.function_error    # None, or "Unhandled" when the function failed
    result.executed_version  # "$LATEST" or the version number
    result.log_tail          # the last 4 KB of this invocation's log (decoded)

``invoke`` raises ``LambdaApiError`` (``.status``, ``.code``, ``.message``)
where the Invoke API itself would fail: unknown function
(``ResourceNotFoundException``), Pending function
(``ResourceConflictException``), throttled by reserved concurrency
(``TooManyRequestsException``, status 429), payload too large or not JSON, a
runtime the local backend cannot run. It must not be called while holding
``app.moto_lock``. ``invoke`` works once the emulator has installed the runtime
(``install``); ``current()`` returns the installed ``LambdaRuntime``.
"""

from __future__ import annotations

from ...errors import EmulatorError
from .. import paths
from ..destinations import DestinationSender
from .api_errors import LambdaApiError
from .async_invoke import AsyncInvoker
from .interceptor import InvokeInterceptor
from .invocation import LambdaRuntime
from .results import InvocationResult
from .settings import RuntimeSettings, load_settings

__all__ = [
    "InvocationResult",
    "LambdaApiError",
    "LambdaRuntime",
    "RuntimeSettings",
    "current",
    "install",
    "invoke",
]

_runtime: LambdaRuntime | None = None


def install(app) -> LambdaRuntime:  # noqa: ANN001 - EmulatorApp, imported lazily to avoid a cycle
    """Plug the runtime into the emulator application (called from ``extensions``)."""
    global _runtime
    from . import event_config, states

    settings = load_settings()
    states.apply(settings.pending_seconds)
    event_config.apply()
    runtime = LambdaRuntime(
        moto_lock=app.moto_lock,
        endpoint=lambda: app.endpoint,
        settings=settings,
        code_root=paths.state_dir() / f"lambda-{app.port}",
    )
    runtime.async_queue = AsyncInvoker(
        runtime, DestinationSender(lambda: app.endpoint, attempts=3), settings.async_workers
    )
    app.add_interceptor(InvokeInterceptor(runtime))
    app.shutdown_hooks.append(runtime.close)
    _runtime = runtime
    return runtime


def current() -> LambdaRuntime:
    """The runtime installed in this emulator process."""
    if _runtime is None:
        raise EmulatorError(
            "The local Lambda runtime is not installed in this process: it runs inside the "
            "emulator (streamlab serve / streamlab start)."
        )
    return _runtime


def invoke(
    function: str,
    payload: bytes = b"",
    *,
    region: str,
    account_id: str,
    qualifier: str | None = None,
    invocation_type: str = "RequestResponse",
) -> InvocationResult:
    """Invoke a function as Lambda's Invoke API does (see the module docstring)."""
    return current().invoke(
        function,
        payload,
        region=region,
        account_id=account_id,
        qualifier=qualifier,
        invocation_type=invocation_type,
    )
