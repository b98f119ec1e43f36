"""Retries, bisect, partial batch responses, record age and on-failure, with a fake function."""

from __future__ import annotations

from typing import Any

from streamlab.local.pollers.invoker import InvokeResult, InvokeUnavailable
from streamlab.local.pollers.processor import BatchContext, BatchProcessor
from streamlab.local.pollers.settings import MappingSettings

from .fakes import FUNCTION_ARN, QUEUE_ARN, STREAM_ARN, FakeInvoker, FakeSender, FakeSource, failing

NOW = 1_700_000_100.0


def settings(**overrides: Any) -> MappingSettings:
    return MappingSettings(
        uuid="u", function_arn=FUNCTION_ARN, event_source_arn=STREAM_ARN, **overrides
    )


def run(
    batch_settings: MappingSettings,
    invoker: FakeInvoker,
    records: list,
    sender: FakeSender | None = None,
) -> tuple[bool, list[int], list[str]]:
    advanced: list[int] = []
    reports: list[str] = []
    context = BatchContext(
        invoker=invoker,
        sender=sender,
        shard_id="shardId-test",
        stream_arn=STREAM_ARN,
        advance=advanced.append,
        report=reports.append,
        wait=lambda s: False,
        clock=lambda: NOW,
    )
    done = BatchProcessor(batch_settings, context).process(records, records[-1].index + 1)
    return done, advanced, reports


def make_records(count: int) -> list:
    source = FakeSource()
    return [source.add(f"k{i}", value=i) for i in range(count)]


def test_successful_batch_is_checkpointed_after_its_last_record() -> None:
    records = make_records(3)
    invoker = FakeInvoker()
    done, advanced, reports = run(settings(), invoker, records)
    assert done and advanced == [3] and reports == ["OK"]
    assert invoker.batches() == [["1000", "1001", "1002"]]


def test_function_error_retries_the_whole_batch_until_it_succeeds() -> None:
    records = make_records(2)
    answers = [failing(), failing(), InvokeResult()]
    invoker = FakeInvoker(lambda event: answers.pop(0))
    done, advanced, reports = run(settings(), invoker, records)
    assert done and advanced == [2]
    assert invoker.batches() == [["1000", "1001"]] * 3
    assert reports == ["PROBLEM: Function call failed"] * 2 + ["OK"]


def test_maximum_retry_attempts_hands_the_batch_to_the_on_failure_destination() -> None:
    records = make_records(2)
    invoker = FakeInvoker(lambda event: failing())
    sender = FakeSender()
    done, advanced, _ = run(
        settings(maximum_retry_attempts=2, on_failure_destination=QUEUE_ARN),
        invoker,
        records,
        sender,
    )
    assert done and advanced == [2]
    assert len(invoker.events) == 3  # the first try and two retries
    ((destination, message),) = sender.sent
    assert destination == QUEUE_ARN
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["requestContext"]["functionArn"] == FUNCTION_ARN
    assert message["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "1000",
        "1001",
        2,
    )
    assert info["streamArn"] == STREAM_ARN and info["shardId"] == "shardId-test"
    assert message["version"] == "1.0"


def test_maximum_retry_attempts_zero_gives_up_after_one_invocation() -> None:
    invoker = FakeInvoker(lambda event: failing())
    done, advanced, _ = run(settings(maximum_retry_attempts=0), invoker, make_records(1))
    assert done and advanced == [1] and len(invoker.events) == 1


def test_bisect_batch_on_function_error_isolates_the_bad_record() -> None:
    records = make_records(8)

    def respond(event: dict) -> InvokeResult:
        keys = [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
        return failing() if "k5" in keys else InvokeResult()

    invoker = FakeInvoker(respond)
    sender = FakeSender()
    done, advanced, _ = run(
        settings(bisect_on_error=True, maximum_retry_attempts=1, on_failure_destination=QUEUE_ARN),
        invoker,
        records,
        sender,
    )
    assert done
    assert invoker.batches()[:4] == [
        [str(1000 + i) for i in range(8)],
        ["1000", "1001", "1002", "1003"],
        ["1004", "1005", "1006", "1007"],
        ["1004", "1005"],
    ]
    ((_, message),) = sender.sent
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["batchSize"]) == ("1005", 1)
    # the split is not a retry: the single bad record was tried twice (once + one retry)
    assert sum(1 for batch in invoker.batches() if batch == ["1005"]) == 2
    assert advanced[-1] == 8
    delivered_ok = {s for b in invoker.batches() if "1005" not in b for s in b}
    assert delivered_ok == {str(1000 + i) for i in range(8)} - {"1005"}


def test_partial_batch_response_checkpoints_before_the_lowest_failure() -> None:
    records = make_records(5)
    answers = [
        InvokeResult(
            payload={"batchItemFailures": [{"itemIdentifier": "1003"}, {"itemIdentifier": "1002"}]}
        ),
        InvokeResult(payload={"batchItemFailures": []}),
    ]
    invoker = FakeInvoker(lambda event: answers.pop(0))
    done, advanced, _ = run(settings(report_batch_item_failures=True), invoker, records)
    assert done
    assert invoker.batches() == [["1000", "1001", "1002", "1003", "1004"], ["1002", "1003", "1004"]]
    assert advanced == [2, 5]


def test_partial_batch_response_is_ignored_without_report_batch_item_failures() -> None:
    invoker = FakeInvoker(
        lambda event: InvokeResult(payload={"batchItemFailures": [{"itemIdentifier": "1000"}]})
    )
    done, advanced, _ = run(settings(), invoker, make_records(2))
    assert done and advanced == [2] and len(invoker.events) == 1


def test_malformed_item_identifier_fails_the_whole_batch() -> None:
    answers = [
        InvokeResult(payload={"batchItemFailures": [{"itemIdentifier": "nope"}]}),
        InvokeResult(payload={"batchItemFailures": [{}]}),
        InvokeResult(payload={"batchItemFailures": None}),
    ]
    invoker = FakeInvoker(lambda event: answers.pop(0))
    done, advanced, _ = run(settings(report_batch_item_failures=True), invoker, make_records(3))
    assert done and advanced == [3]
    assert invoker.batches() == [["1000", "1001", "1002"]] * 3


def test_maximum_record_age_sends_old_records_without_invoking() -> None:
    source = FakeSource()
    old = [source.add("a", created=NOW - 120), source.add("b", created=NOW - 90)]
    fresh = [source.add("c", created=NOW - 10)]
    invoker = FakeInvoker()
    sender = FakeSender()
    done, advanced, _ = run(
        settings(maximum_record_age_seconds=60, on_failure_destination=QUEUE_ARN),
        invoker,
        old + fresh,
        sender,
    )
    assert done and advanced == [2, 3]
    assert invoker.batches() == [["1002"]]
    ((_, message),) = sender.sent
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in message
    assert message["DDBStreamBatchInfo"]["batchSize"] == 2


def test_exhausted_batch_without_destination_is_dropped_and_checkpointed() -> None:
    invoker = FakeInvoker(lambda event: failing())
    done, advanced, _ = run(settings(maximum_retry_attempts=1), invoker, make_records(2))
    assert done and advanced == [2] and len(invoker.events) == 2


def test_calls_that_never_reach_the_function_are_not_counted_as_retries() -> None:
    answers: list = [
        InvokeUnavailable("throttled"),
        InvokeUnavailable("throttled"),
        failing(),
        InvokeResult(),
    ]

    def respond(event: dict) -> InvokeResult:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    invoker = FakeInvoker(respond)
    done, advanced, _ = run(settings(maximum_retry_attempts=1), invoker, make_records(1))
    assert done and advanced == [1] and len(invoker.events) == 4


def test_stopping_during_retries_keeps_the_batch_unsettled() -> None:
    records = make_records(2)
    invoker = FakeInvoker(lambda event: failing())
    context = BatchContext(
        invoker=invoker,
        sender=None,
        shard_id="s",
        stream_arn=STREAM_ARN,
        wait=lambda seconds: True,
        clock=lambda: NOW,
    )
    advanced: list[int] = []
    context.advance = advanced.append
    assert BatchProcessor(settings(), context).process(records, 2) is False
    assert advanced == []


def test_on_failure_delivery_is_retried_until_it_succeeds() -> None:
    class FlakySender(FakeSender):
        def __init__(self) -> None:
            super().__init__()
            self.failures = 2

        def send(self, destination_arn: str, message: dict) -> None:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("queue missing")
            super().send(destination_arn, message)

    sender = FlakySender()
    invoker = FakeInvoker(lambda event: failing())
    done, _, _ = run(
        settings(maximum_retry_attempts=0, on_failure_destination=QUEUE_ARN),
        invoker,
        make_records(1),
        sender,
    )
    assert done and len(sender.sent) == 1


def test_settings_updated_during_retries_apply_at_the_next_attempt() -> None:
    """A blocked batch under default retries obeys a new MaximumRetryAttempts at once."""
    records = make_records(1)
    current = {"settings": settings()}  # default: retry until the record expires
    invoker = FakeInvoker(lambda event: failing())
    sender = FakeSender()
    attempts: list[float] = []

    def wait(seconds: float) -> bool:
        attempts.append(seconds)
        if len(attempts) == 3:  # the learner updates the mapping while it is stuck
            current["settings"] = settings(
                maximum_retry_attempts=0, on_failure_destination=QUEUE_ARN
            )
        return len(attempts) > 50  # a stop request, if the update were never seen

    context = BatchContext(
        invoker=invoker,
        sender=sender,
        shard_id="shardId-test",
        stream_arn=STREAM_ARN,
        advance=lambda index: None,
        report=lambda text: None,
        wait=wait,
        clock=lambda: NOW,
    )
    done = BatchProcessor(lambda: current["settings"], context).process(records, 1001)
    assert done and len(sender.sent) == 1
    assert len(invoker.batches()) == 4  # three failed retries, then the first under the new rule
