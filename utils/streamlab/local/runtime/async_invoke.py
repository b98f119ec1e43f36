"""Asynchronous invocations (``InvocationType=Event``): queue, retries, destinations.

Lambda answers 202 at once and runs the event later. On a function error it
retries twice (``MaximumRetryAttempts`` of the function's event invoke
configuration, 0-2); throttles are retried until ``MaximumEventAgeInSeconds``
(default 6 hours). AWS waits about one and then two minutes between retries;
locally the back-off is ``LAB_LAMBDA_ASYNC_RETRY_SECONDS`` (default 0.5 s),
doubled each time, so a lab sees the outcome in seconds. After the last
attempt the record goes to the ``OnFailure`` destination, after a success to
``OnSuccess``, when configured.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..destinations import DestinationSender
from .api_errors import LambdaApiError

if TYPE_CHECKING:
    from .invocation import LambdaRuntime

log = logging.getLogger("streamlab.runtime")


def timestamp_now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def destination_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    status_code: int,
    executed_version: str | None,
    function_error: str | None,
    response_payload: bytes | None,
) -> dict[str, Any]:
    """The JSON document Lambda sends to a destination after an async invocation."""

    def parsed(data: bytes | None) -> Any:
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return data.decode("utf-8", errors="replace")

    response_context: dict[str, Any] = {
        "statusCode": status_code,
        "executedVersion": executed_version,
    }
    if function_error:
        response_context["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": timestamp_now(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": parsed(request_payload),
        "responseContext": response_context,
        "responsePayload": parsed(response_payload),
    }


DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE_SECONDS = 21600


@dataclass
class AsyncEvent:
    function: str
    qualifier: str | None
    region: str
    account_id: str
    payload: bytes
    request_id: str
    enqueued_at: float = field(default_factory=time.monotonic)
    attempts: int = 0  # function runs so far
    throttles: int = 0


class AsyncInvoker:
    """A queue of events and a few threads that run them through the runtime."""

    def __init__(self, runtime: LambdaRuntime, sender: DestinationSender, workers: int) -> None:
        self.runtime = runtime
        self.sender = sender
        self._queue: queue.Queue[AsyncEvent | None] = queue.Queue()
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"lambda-async-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self,
        function: str,
        qualifier: str | None,
        region: str,
        account_id: str,
        payload: bytes,
        request_id: str,
    ) -> None:
        self._queue.put(AsyncEvent(function, qualifier, region, account_id, payload, request_id))

    def _later(self, event: AsyncEvent, delay: float) -> None:
        timer = threading.Timer(delay, lambda: self._queue.put(event))
        timer.daemon = True
        timer.start()

    def _work(self) -> None:
        while not self._closed.is_set():
            event = self._queue.get()
            if event is None:
                return
            try:
                self._attempt(event)
            except Exception as exc:  # never lose the worker thread
                log.warning("async invocation %s failed: %s", event.request_id, exc)

    def _attempt(self, event: AsyncEvent) -> bool:
        """Run the event once; True when it is finished (delivered or dropped)."""
        try:
            spec = self.runtime.load(
                event.function,
                region=event.region,
                account_id=event.account_id,
                qualifier=event.qualifier,
            )
        except LambdaApiError as error:
            log.warning("async invocation %s dropped: %s", event.request_id, error)
            return True
        config = spec.event_invoke_config or {}
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_SECONDS))
        destinations = config.get("DestinationConfig") or {}
        if time.monotonic() - event.enqueued_at > max_age:
            self._deliver(spec, destinations, event, "EventAgeExceeded", None)
            return True
        try:
            result = self.runtime.run(spec, event.payload, event.request_id)
        except LambdaApiError as error:
            if error.status == 429:  # throttled: try again later, until the age limit
                event.throttles += 1
                self._later(
                    event,
                    min(60.0, self.runtime.settings.async_retry_base_seconds * 2**event.throttles),
                )
                return False
            log.warning("async invocation %s dropped: %s", event.request_id, error)
            return True
        event.attempts += 1
        if result.function_error is None:
            self._deliver(spec, destinations, event, "Success", result)
            return True
        if event.attempts <= retries:
            delay = self.runtime.settings.async_retry_base_seconds * 2 ** (event.attempts - 1)
            self._later(event, delay)
            return False
        self._deliver(spec, destinations, event, "RetriesExhausted", result)
        return True

    def _deliver(self, spec, destinations: dict, event: AsyncEvent, condition: str, result) -> None:  # noqa: ANN001
        key = "OnSuccess" if condition == "Success" else "OnFailure"
        arn = (destinations.get(key) or {}).get("Destination")
        if not arn:
            return
        record = destination_record(
            request_id=event.request_id,
            function_arn=f"{spec.function_arn}:{spec.version}",
            condition=condition,
            invoke_count=max(1, event.attempts),
            request_payload=event.payload,
            status_code=200 if result is not None else 0,
            executed_version=result.executed_version if result is not None else spec.version,
            function_error=result.function_error if result is not None else None,
            response_payload=result.payload if result is not None else None,
        )
        try:
            self.sender.send(arn, record)
        except Exception as exc:  # a missing queue must not stop the async worker
            log.warning("could not deliver to destination %s: %s", arn, exc)

    def close(self) -> None:
        self._closed.set()
        for _ in self._threads:
            self._queue.put(None)
