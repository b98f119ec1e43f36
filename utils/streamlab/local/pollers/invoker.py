"""How a poller calls its function: the emulator's own Invoke API, synchronously.

Going through HTTP Invoke (not a Python call into the runtime) means the poller
works with whichever runtime serves Invoke, and sees exactly what a caller on
AWS sees: the payload, ``X-Amz-Function-Error`` and the executed version.
Tests inject any object with the same ``invoke`` method.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import botocore.config
import botocore.exceptions

from ..service_clients import Endpoint, service_client


class InvokeUnavailable(Exception):
    """The call did not reach the function (throttled, not found, emulator stopping).

    AWS does not count these against ``MaximumRetryAttempts``; the poller waits
    and tries again.
    """

    def __init__(self, message: str, *, problem: str = "PROBLEM: Function call failed") -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class InvokeResult:
    """What a synchronous invocation returned."""

    status_code: int = 200
    payload: Any = None  # the function's response, parsed as JSON when it is JSON
    function_error: str | None = None  # "Unhandled" (or "Handled") when the function failed
    executed_version: str = "$LATEST"
    request_id: str = ""

    @property
    def failed(self) -> bool:
        return self.function_error is not None


class Invoker(Protocol):
    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        """Run the function once on ``event``; raise ``InvokeUnavailable`` if it never ran."""


_CLIENT_CONFIG = botocore.config.Config(
    retries={"total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=930,  # longer than any function's timeout (900 s at most)
    max_pool_connections=64,
    proxies={},
)


class LambdaInvoker:
    """Invokes through a boto3 Lambda client on the emulator's endpoint (the service identity)."""

    def __init__(self, endpoint: Endpoint, region: str = "us-east-1") -> None:
        self._endpoint = endpoint
        self._region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = service_client(
                    "lambda", region, self._endpoint, _CLIENT_CONFIG
                )
            return self._clients[region]

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        parts = function_arn.split(":")
        region = parts[3] if len(parts) > 3 and parts[0] == "arn" else self._region
        try:
            response = self._client(region).invoke(
                FunctionName=function_arn,
                InvocationType="RequestResponse",
                Payload=json.dumps(event, separators=(",", ":")).encode(),
            )
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            problem = (
                "PROBLEM: Function not found"
                if code == "ResourceNotFoundException"
                else "PROBLEM: Function call failed"
            )
            raise InvokeUnavailable(str(exc), problem=problem) from exc
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            raise InvokeUnavailable(str(exc)) from exc
        raw = response["Payload"].read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        metadata = response.get("ResponseMetadata", {})
        return InvokeResult(
            status_code=response.get("StatusCode", 200),
            payload=payload,
            function_error=response.get("FunctionError"),
            executed_version=response.get("ExecutedVersion") or "$LATEST",
            request_id=metadata.get("RequestId", ""),
        )
