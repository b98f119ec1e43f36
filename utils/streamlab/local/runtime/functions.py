"""A consistent snapshot of one function's configuration and code, read from moto.

The runtime reads moto's Lambda backend under ``moto_lock`` only for as long as
it takes to copy what it needs, then works from this snapshot: the lock is
never held while user code runs (the code calls back into the emulator).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError

from .api_errors import LambdaApiError


@dataclass(frozen=True)
class Layer:
    arn: str
    sha256: str
    code: bytes = field(repr=False)


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to run one version of a function."""

    account_id: str
    region: str
    name: str
    version: str  # "$LATEST" or a published version number
    function_arn: str  # unqualified
    invoked_arn: str  # as the caller named it (with its qualifier, if any)
    handler: str
    runtime: str
    package_type: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    code_sha256: str
    code: bytes = field(repr=False)
    layers: tuple[Layer, ...] = ()
    state: str = "Active"
    reserved_concurrency: int | None = None
    event_invoke_config: dict[str, Any] | None = None

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def pool_key(self) -> tuple[str, str, str, str]:
        return (self.account_id, self.region, self.name, self.version)

    @property
    def function_key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.name)

    @property
    def fingerprint(self) -> str:
        """Changes whenever code or configuration does: warm environments are then replaced."""
        parts = {
            "code": self.code_sha256,
            "layers": [layer.sha256 for layer in self.layers],
            "handler": self.handler,
            "runtime": self.runtime,
            "timeout": self.timeout,
            "memory": self.memory_size,
            "environment": self.environment,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _backend(account_id: str, region: str):  # noqa: ANN202
    return lambda_backends[account_id][region]


def _qualified_arn(function_arn: str, qualifier: str | None) -> str:
    return f"{function_arn}:{qualifier}" if qualifier else function_arn


def _split_name(function: str, qualifier: str | None) -> tuple[str, str | None]:
    """Accept a name, ``name:qualifier``, a partial or a full ARN, as Invoke does."""
    if function.startswith("arn:"):
        tail = function.split(":function:", 1)[-1]
    elif ":function:" in function:  # partial ARN: ACCOUNT:function:NAME[:QUALIFIER]
        tail = function.split(":function:", 1)[-1]
    else:
        tail = function
    if ":" in tail:
        tail, from_name = tail.split(":", 1)
        qualifier = qualifier or from_name
    return tail, qualifier


def load_function(
    lock: threading.RLock,
    function: str,
    *,
    account_id: str,
    region: str,
    qualifier: str | None = None,
) -> FunctionSpec:
    """Copy one function version out of moto; raises ``LambdaApiError`` as Invoke would."""
    name, qualifier = _split_name(function, qualifier)
    with lock:
        backend = _backend(account_id, region)
        try:
            fn = backend.get_function(name, qualifier)
        except JsonRESTError as exc:
            raise LambdaApiError(exc.code, exc.error_type, exc.message) from None
        if fn is None:
            raise LambdaApiError(
                404, "ResourceNotFoundException", f"Function not found: {function}"
            )
        layers = []
        for layer in fn.layers or []:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is not None:
                layers.append(
                    Layer(layer["Arn"], version.code_sha_256, bytes(version.code_bytes or b""))
                )
        latest = backend.get_function(name)
        reserved = getattr(latest, "reserved_concurrency", None)
        configs = getattr(fn, "event_invoke_config", None) or getattr(
            latest, "event_invoke_config", None
        )
        state = current_state(fn)
        base_arn = fn.function_arn
        if fn.version != "$LATEST" and base_arn.endswith(f":{fn.version}"):
            base_arn = base_arn[: -len(f":{fn.version}")]
        return FunctionSpec(
            account_id=account_id,
            region=region,
            name=fn.function_name,
            version=str(fn.version),
            function_arn=base_arn,
            invoked_arn=_qualified_arn(base_arn, qualifier),
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            package_type=fn.package_type or "Zip",
            timeout=int(fn.timeout or 3),
            memory_size=int(fn.memory_size or 128),
            environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
            code_sha256=fn.code_sha_256 or "",
            code=bytes(getattr(fn, "code_bytes", b"") or b""),
            layers=tuple(layers),
            state=state,
            reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
            event_invoke_config=dict(configs[0].config) if configs else None,
        )


def current_state(fn: Any) -> str:
    """``Pending`` until the moment ``states`` set for the function, then ``Active``."""
    ready_at = getattr(fn, "_lab_ready_at", 0.0)
    return "Pending" if time.monotonic() < ready_at else "Active"


def function_exists(lock: threading.RLock, account_id: str, region: str, name: str) -> bool:
    with lock:
        try:
            return _backend(account_id, region).get_function(name) is not None
        except JsonRESTError:
            return False
