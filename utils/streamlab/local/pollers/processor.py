"""What happens to one batch: invoke, and on failure retry, bisect or give up.

AWS's rules, in order: a function error retries the batch (until the retry
limit or the record age limit, or forever with the defaults); with
``BisectBatchOnFunctionError`` a failing batch is split in two first (a split
is not a retry); a partial batch response checkpoints before the lowest failed
sequence number and retries from there; records that run out of retries or
age go to the on-failure destination (a description, not the records), or are
dropped without one. Invocations that never reached the function (throttles,
a missing function, the emulator stopping) are retried without counting.

Progress is reported through ``advance(position)`` as soon as a prefix of the
batch is settled, so a poller stopped mid-batch resumes at the first record
that still needs its function.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .invoker import Invoker, InvokeResult, InvokeUnavailable
from .on_failure import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    FailureSender,
    failure_message,
)
from .records import SourceRecord
from .settings import MappingSettings

log = logging.getLogger("streamlab.pollers")

RESULT_OK = "OK"
RESULT_FAILED = "PROBLEM: Function call failed"
RETENTION_SECONDS = 24 * 3600  # a record older than the stream's retention is gone


def retry_delay(attempt: int) -> float:
    """Back off between retries: quick at first (local), at most a second like AWS's pace."""
    return min(0.01 * (2 ** max(attempt - 1, 0)), 1.0)


@dataclass
class _Pending:
    records: list[SourceRecord]
    retries: int = 0
    invocations: int = 0
    last_result: InvokeResult | None = None
    unavailable: int = 0  # calls that never reached the function (not retries)


@dataclass
class BatchContext:
    """What the processor needs from its poller, as plain callables (easy to fake)."""

    invoker: Invoker
    sender: FailureSender | None
    shard_id: str
    stream_arn: str
    make_event: Callable[[list[SourceRecord]], dict[str, Any]] = lambda records: {
        "Records": [r.record for r in records]
    }
    on_success: Callable[[InvokeResult], None] = lambda result: None
    advance: Callable[[int], None] = lambda position: None
    report: Callable[[str], None] = lambda result: None
    wait: Callable[[float], bool] = lambda seconds: (time.sleep(seconds), False)[1]
    clock: Callable[[], float] = time.time


class BatchProcessor:
    """Applies a mapping's retry, bisect, partial-response and on-failure settings."""

    def __init__(
        self, settings: MappingSettings | Callable[[], MappingSettings], context: BatchContext
    ) -> None:
        # A callable gives the mapping's current settings, so an update made while a batch
        # is being retried (say, MaximumRetryAttempts lowered) applies at the next attempt.
        self._settings = settings if callable(settings) else (lambda: settings)
        self.context = context

    @property
    def settings(self) -> MappingSettings:
        return self._settings()

    def process(self, batch: list[SourceRecord], end: int) -> bool:
        """Settle ``batch``; ``end`` is the checkpoint once all of it is settled.

        Returns False when the poller was asked to stop before the batch was settled.
        """
        queue: deque[_Pending] = deque([_Pending(list(batch))])
        while queue:
            item = queue[0]
            if not self._drop_expired(item):
                return False
            if not item.records:
                queue.popleft()
                continue
            try:
                result = self.context.invoker.invoke(
                    self.settings.function_arn, self.context.make_event(item.records)
                )
            except InvokeUnavailable as exc:
                log.info("mapping %s: invoke did not run: %s", self.settings.uuid, exc)
                self.context.report(exc.problem)
                item.unavailable += 1
                if self.context.wait(retry_delay(item.unavailable + 3)):
                    return False
                continue
            item.invocations += 1
            item.last_result = result
            failed_from = self._first_failure(item.records, result)
            if failed_from is None:
                self.context.report(RESULT_OK)
                self.context.on_success(result)
                queue.popleft()
                self._settled(queue, end)
                continue
            self.context.report(RESULT_FAILED)
            if failed_from > 0:
                self.context.on_success(result)
                item.records = item.records[failed_from:]
                self.context.advance(item.records[0].index)
            elif self.settings.bisect_on_error and len(item.records) > 1:
                half = len(item.records) // 2
                queue.popleft()
                queue.appendleft(
                    _Pending(item.records[half:], item.retries, item.invocations, item.last_result)
                )
                queue.appendleft(
                    _Pending(item.records[:half], item.retries, item.invocations, item.last_result)
                )
                continue
            item.retries += 1
            limit = self.settings.maximum_retry_attempts
            if limit != -1 and item.retries > limit:
                if not self._hand_over(item, RETRY_ATTEMPTS_EXHAUSTED):
                    return False
                queue.popleft()
                self._settled(queue, end)
                continue
            if self.context.wait(retry_delay(item.retries)):
                return False
        return True

    def process_final(self) -> bool:
        """The closing invocation of a tumbling window (no records), retried like a batch."""
        retries = unavailable = 0
        while True:
            try:
                result = self.context.invoker.invoke(
                    self.settings.function_arn, self.context.make_event([])
                )
            except InvokeUnavailable as exc:
                self.context.report(exc.problem)
                unavailable += 1
                if self.context.wait(retry_delay(unavailable + 3)):
                    return False
                continue
            if not result.failed:
                self.context.report(RESULT_OK)
                self.context.on_success(result)
                return True
            self.context.report(RESULT_FAILED)
            retries += 1
            limit = self.settings.maximum_retry_attempts
            if limit != -1 and retries > limit:
                return True
            if self.context.wait(retry_delay(retries)):
                return False

    def _settled(self, queue: deque[_Pending], end: int) -> None:
        self.context.advance(queue[0].records[0].index if queue else end)

    def _first_failure(self, records: list[SourceRecord], result: InvokeResult) -> int | None:
        """None on success, else the offset of the first record to retry (0: all of them)."""
        if result.failed:
            return 0
        if not self.settings.report_batch_item_failures:
            return None
        payload = result.payload
        if payload is None or not isinstance(payload, dict):
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None  # an empty or null list means success
        if not isinstance(failures, list):
            return 0
        offsets = {record.sequence_number: offset for offset, record in enumerate(records)}
        found = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in offsets:
                return 0  # a missing or malformed identifier fails the whole batch
            found.append(offsets[identifier])
        return min(found)

    def _drop_expired(self, item: _Pending) -> bool:
        """Hand over records older than the age limit (a prefix: records are in order)."""
        limit = self.settings.maximum_record_age_seconds
        limit = RETENTION_SECONDS if limit == -1 else limit
        now = self.context.clock()
        expired = 0
        while expired < len(item.records) and now - item.records[expired].arrival > limit:
            expired += 1
        if not expired:
            return True
        old = _Pending(item.records[:expired], item.retries, item.invocations, item.last_result)
        if not self._hand_over(old, RECORD_AGE_EXCEEDED):
            return False
        item.records = item.records[expired:]
        if item.records:
            self.context.advance(item.records[0].index)
        return True

    def _hand_over(self, item: _Pending, condition: str) -> bool:
        """Send the batch's description to the on-failure destination (retrying delivery)."""
        destination = self.settings.on_failure_destination
        if destination is None or self.context.sender is None:
            log.info(
                "mapping %s: dropping %d records (%s), no on-failure destination",
                self.settings.uuid,
                len(item.records),
                condition,
            )
            return True
        message = failure_message(
            function_arn=self.settings.function_arn,
            condition=condition,
            invoke_count=item.invocations,
            last_result=item.last_result,
            records=item.records,
            shard_id=self.context.shard_id,
            stream_arn=self.context.stream_arn,
            now=self.context.clock(),
        )
        attempt = 0
        while True:
            try:
                self.context.sender.send(destination, message)
                return True
            except Exception as exc:  # the destination may be missing: keep the records
                attempt += 1
                log.warning(
                    "mapping %s: on-failure delivery to %s failed: %s",
                    self.settings.uuid,
                    destination,
                    exc,
                )
                if self.context.wait(retry_delay(attempt + 4)):
                    return False
