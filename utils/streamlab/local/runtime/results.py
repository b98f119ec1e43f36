"""What an invocation returns, and the error payloads Lambda itself writes.

Kept apart from ``invocation.LambdaRuntime`` so the HTTP layer and in-process
callers (the pollers) share one shape: ``InvocationResult``.
"""

from __future__ import annotations

import base64
import json
import signal
from dataclasses import dataclass

from .environment import Outcome

MAX_SYNC_RESPONSE_BYTES = 6291556  # the limit AWS names in its error message


@dataclass
class InvocationResult:
    """An Invoke's answer: HTTP status, payload bytes and the headers' meaning."""

    status_code: int
    payload: bytes = b""
    function_error: str | None = None  # "Unhandled" when the function failed
    executed_version: str | None = None
    log_result: str | None = None  # base64 of the last 4 KB of the log (LogType=Tail)
    request_id: str = ""

    @property
    def log_tail(self) -> str:
        """The decoded ``log_result``: the end of this invocation's log text."""
        if not self.log_result:
            return ""
        return base64.b64decode(self.log_result).decode("utf-8", errors="replace")

    def json(self) -> object:
        return json.loads(self.payload) if self.payload else None


_SIGNAL_WORDS = {9: "killed", 6: "aborted", 11: "segmentation fault", 15: "terminated"}


def exit_description(returncode: int | None) -> str:
    """Go-style, as Lambda's message reads: ``exit status 1`` or ``signal: killed``."""
    if returncode is None:
        return "signal: killed"
    if returncode < 0:
        number = -returncode
        word = _SIGNAL_WORDS.get(number)
        if word is None:
            try:
                word = signal.Signals(number).name
            except ValueError:
                word = str(number)
        return f"signal: {word}"
    return f"exit status {returncode}"


def platform_error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def outcome_payload(
    outcome: Outcome, timeout: int, returncode: int | None
) -> tuple[bytes, str | None]:
    """The payload and ``X-Amz-Function-Error`` value for how an invocation ended."""
    rid = outcome.request_id
    if outcome.status == "success":
        if len(outcome.payload) > MAX_SYNC_RESPONSE_BYTES:
            return (
                json.dumps(
                    {
                        "errorMessage": "Response payload size exceeded maximum allowed "
                        f"payload size ({MAX_SYNC_RESPONSE_BYTES} bytes).",
                        "errorType": "Function.ResponseSizeTooLarge",
                    }
                ).encode(),
                "Unhandled",
            )
        return outcome.payload, None
    if outcome.status in ("error", "init_error"):
        return outcome.payload, "Unhandled"
    if outcome.status == "timeout":
        message = f"RequestId: {rid} Error: Task timed out after {timeout:.2f} seconds"
        return platform_error("Sandbox.Timedout", message), "Unhandled"
    if outcome.status == "out_of_memory":
        message = f"RequestId: {rid} Error: Runtime exited with error: signal: killed"
        return platform_error("Runtime.OutOfMemory", message), "Unhandled"
    message = f"RequestId: {rid} Error: Runtime exited with error: {exit_description(returncode)}"
    return platform_error("Runtime.ExitError", message), "Unhandled"
