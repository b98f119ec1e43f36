"""streamlab.aws.pipeline: each count of the pipeline view, proved on the emulator and on stubs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

from streamlab.apps import reliability
from streamlab.aws import mappings, pipeline
from streamlab.aws.pipeline import MAX_PAGES, LogCount, PipelineCounter, PipelineCounts
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config

GAMES, TOTALS, QUEUE = reliability.GAMES, reliability.TOTALS, "aggregator-failures"


@pytest.fixture
def rlab(emulator: str) -> Lab:
    """Lab 05's tables, queues and idempotent aggregator, under a prefix of the test's own."""
    prefix = f"p{uuid.uuid4().hex[:8]}-"
    lab = connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )
    lab.test_queues = reliability.start_afresh(lab)  # type: ignore[attr-defined]
    reliability.ensure_aggregator(lab)
    return lab


def _counter(lab: Lab) -> PipelineCounter:
    return PipelineCounter(
        lab, table=GAMES, function=reliability.AGGREGATOR, totals=TOTALS, queue=QUEUE
    )


def _settle(
    counter: PipelineCounter, done: Callable[[PipelineCounts], bool], timeout: float = 30.0
) -> PipelineCounts:
    """Step until ``done(counts)``; fail with the last counts after ``timeout`` (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        report = counter.step()
        assert not report.errors, report.errors
        if done(counter.counts):
            return counter.counts
        if time.monotonic() > deadline:
            raise AssertionError(f"counts never settled: {counter.counts}")
        time.sleep(0.1)


def test_no_mapping_yet_means_nothing_delivered_and_nothing_retried(rlab: Lab) -> None:
    reliability.write_games(rlab, [reliability.game_item("1", "Alice", 10)])
    counter = _counter(rlab)
    counter.step()
    assert counter.counts.as_dict() == {
        "written": 1, "in_stream": 1, "delivered": 0, "counted": 0, "retried": 0, "failed": 0,
    }  # fmt: skip


def test_each_count_follows_the_games_through_the_pipeline(rlab: Lab) -> None:
    counter = _counter(rlab)
    name = rlab.name(reliability.AGGREGATOR)
    games = rlab.name(GAMES)
    mappings.connect_stream(rlab, games, name)
    reliability.write_games(
        rlab, [reliability.game_item(str(i), "Alice", 10 * i) for i in range(1, 4)]
    )
    counts = _settle(counter, lambda c: c.counted == 3 and c.delivered == 3)
    assert (counts.written, counts.in_stream, counts.retried, counts.failed) == (3, 3, 0, 0)

    # A deleted game leaves the table but adds a REMOVE record, delivered and counted (-1 game).
    rlab.dynamodb.delete_item(TableName=games, Key={"RecordID": {"S": "3"}})
    counts = _settle(counter, lambda c: c.delivered == 4)
    assert (counts.written, counts.in_stream, counts.counted) == (2, 4, 2)

    # A poison record blocks the shard: each retried invocation is one more "retried".
    reliability.write_games(
        rlab, [reliability.game_item("4", "Eve", "lots"), reliability.game_item("5", "Bob", 5)]
    )
    counts = _settle(counter, lambda c: c.retried >= 2)
    assert (counts.written, counts.in_stream) == (4, 6)
    # Only the poison's shard is blocked: Bob's game went through if its key is in another one.
    assert counts.delivered in (4, 5) and counts.counted == counts.delivered - 2
    assert counts.failed == 0

    # Retries off, bisect, a queue: the poison batch is given up (one message), Bob's gets through.
    queue = rlab.test_queues[QUEUE]  # type: ignore[attr-defined]
    by_url = PipelineCounter(
        rlab, table=GAMES, function=reliability.AGGREGATOR, queue=queue["QueueUrl"]
    )
    mappings.connect_stream(rlab, games, name, Enabled=False)
    mappings.connect_stream(
        rlab,
        games,
        name,
        Enabled=True,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue["QueueArn"]}},
    )
    counts = _settle(counter, lambda c: c.failed == 1 and c.counted == 3 and c.delivered >= 5)
    counter.step()
    assert counts.delivered == 5  # Bob's record, alone after the bisect; the poison never
    assert _settle(by_url, lambda c: c.failed == 1).failed == 1  # the queue given by its URL
    retried = counts.retried

    # Reading the queue deletes its messages: "failed" counts what waits there.
    assert len(reliability.show_failures(rlab, queue["QueueUrl"])) == 1
    counts = _settle(counter, lambda c: c.failed == 0)
    assert counts.retried == retried and counts.delivered == 5


def test_a_table_made_again_starts_every_count_again(rlab: Lab) -> None:
    """A lab run afresh while an earlier run's view still looks: no counts carried over."""
    counter = _counter(rlab)
    mappings.connect_stream(rlab, rlab.name(GAMES), rlab.name(reliability.AGGREGATOR))
    reliability.write_games(rlab, [reliability.game_item("1", "Alice", 10)])
    _settle(counter, lambda c: c.delivered == 1 and c.counted == 1)
    reliability.start_afresh(rlab)
    counts = _settle(counter, lambda c: c.written == 0)
    assert counts.as_dict() == {
        "written": 0, "in_stream": 0, "delivered": 0, "counted": 0, "retried": 0, "failed": 0,
    }  # fmt: skip
    mappings.connect_stream(rlab, rlab.name(GAMES), rlab.name(reliability.AGGREGATOR))
    reliability.write_games(rlab, [reliability.game_item("2", "Bob", 5)])
    counts = _settle(counter, lambda c: c.delivered == 1 and c.counted == 1)
    assert (counts.written, counts.in_stream) == (1, 1)


def test_a_direct_invocation_just_before_the_mapping_is_not_delivered(rlab: Lab) -> None:
    """Like check 4.1's own batch, run moments before exercise 4.2 creates the mapping."""
    record = {
        "eventID": "direct-1",
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"PlayerName": {"S": "Checker"}, "Score": {"N": "1"}}},
    }
    answer = rlab.lambda_.invoke(
        FunctionName=rlab.name(reliability.AGGREGATOR),
        Payload=json.dumps({"Records": [record]}).encode(),
    )
    assert "FunctionError" not in answer
    mappings.connect_stream(rlab, rlab.name(GAMES), rlab.name(reliability.AGGREGATOR))
    reliability.write_games(rlab, [reliability.game_item("1", "Alice", 10)])
    counter = _counter(rlab)
    counts = _settle(counter, lambda c: c.counted == 2)  # the checker's game and Alice's
    counter.step()
    assert counts.delivered == 1  # Alice's record only: the direct batch came before


class Recorder:
    """A client that passes every call on and remembers (operation, keyword arguments)."""

    def __init__(self, client: Any, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self._client = client
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target) or name.startswith(("get_paginator", "exceptions", "meta")):
            return target

        def call(**kwargs: Any) -> Any:
            self._calls.append((name, dict(kwargs)))
            return target(**kwargs)

        return call


def test_the_stream_and_the_log_are_read_incrementally(
    rlab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(pipeline.LOG_OVERLAP_MS, "local", 0)  # no overlap: every query is new
    calls: list[tuple[str, dict[str, Any]]] = []
    for client in ("dynamodbstreams", "logs"):
        rlab.__dict__[client] = Recorder(getattr(rlab, client), calls)
    counter = _counter(rlab)
    mappings.connect_stream(rlab, rlab.name(GAMES), rlab.name(reliability.AGGREGATOR))
    reliability.write_games(rlab, [reliability.game_item("1", "Alice", 1)])
    _settle(counter, lambda c: c.delivered == 1)
    since = counter._log.start if counter._log else None
    assert since is not None
    calls.clear()
    reliability.write_games(rlab, [reliability.game_item("2", "Bob", 2)])
    counts = _settle(counter, lambda c: c.delivered == 2)
    assert counts.in_stream == 2  # the first record was not counted again
    # Kept iterators: no shard is opened again from its start.
    assert not [kwargs for op, kwargs in calls if op == "get_shard_iterator"]
    # The log's later queries start after what was seen, never at the mapping's start again.
    starts = [kwargs["startTime"] for op, kwargs in calls if op == "filter_log_events"]
    assert starts and min(starts) > since


# -- stubs: paging, throttling, one-line errors -------------------------------------------


class StubLogs:
    """FilterLogEvents over a fixed list of events, ``page_size`` per page."""

    class exceptions:  # noqa: N801 - boto3's shape
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, events: list[dict[str, Any]], page_size: int = 1) -> None:
        self.events = events
        self.page_size = page_size
        self.queries: list[dict[str, Any]] = []

    def filter_log_events(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        chosen = [e for e in self.events if e["timestamp"] >= kwargs["startTime"]]
        offset = int(kwargs.get("nextToken", 0))
        page = chosen[offset : offset + self.page_size]
        answer: dict[str, Any] = {"events": page}
        if offset + self.page_size < len(chosen):
            answer["nextToken"] = str(offset + self.page_size)
        return answer


class StubLab:
    backend = "local"
    prefix = ""

    def __init__(self, **clients: Any) -> None:
        for name, client in clients.items():
            setattr(self, name, client)

    def name(self, base: str) -> str:
        return base


def _event(number: int, message: str) -> dict[str, Any]:
    return {"eventId": f"e{number}", "timestamp": 1_000_000 + 1_000 * number, "message": message}


def test_log_lines_give_delivered_records_and_failed_invocations() -> None:
    stub = StubLogs(
        [
            _event(1, "Added 3 game(s) for 2 player(s) from 4 record(s)\n"),
            _event(2, "[ERROR] KeyError: 'N'\rTraceback (most recent call last):"),
            _event(3, "counted 0 of 2 record(s)\n"),
            _event(4, "2026-11-28T09:00:00Z abc Task timed out after 3.00 seconds\n"),
            _event(5, "START RequestId: abc Version: $LATEST\n"),  # let through by the emulator
        ],
        page_size=10,
    )
    count = LogCount(StubLab(logs=stub), "f", start=0)  # type: ignore[arg-type]
    count.step()
    assert (count.delivered, count.retried) == (6, 2)
    count.step()  # the overlap reads the newest events again: they are not counted twice
    assert (count.delivered, count.retried) == (6, 2)
    assert stub.queries[-1]["startTime"] == 1_004_000 - 2_000  # newest counted, less overlap
    assert len(stub.queries[-1]) == 3  # a new query: no token


def test_a_long_log_is_read_a_few_pages_per_step_keeping_the_token() -> None:
    stub = StubLogs([_event(i, "from 1 record(s)") for i in range(MAX_PAGES + 2)], page_size=1)
    count = LogCount(StubLab(logs=stub), "f", start=0)  # type: ignore[arg-type]
    count.step()
    assert count.delivered == MAX_PAGES and len(stub.queries) == MAX_PAGES
    count.step()  # continues the same query where it stopped
    assert count.delivered == MAX_PAGES + 2
    assert stub.queries[MAX_PAGES]["nextToken"] == str(MAX_PAGES)
    assert stub.queries[MAX_PAGES]["startTime"] == stub.queries[0]["startTime"]


class Throttled:
    """Every call fails the way an account over its quota does."""

    class exceptions:  # noqa: N801 - boto3's shape
        class ResourceNotFoundException(Exception):
            pass

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(**kwargs: Any) -> Any:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, name
            )

        return fail


def test_throttling_keeps_the_counts_and_is_reported() -> None:
    throttled = Throttled()
    lab = StubLab(
        dynamodb=throttled, dynamodbstreams=throttled, logs=throttled, lambda_=throttled,
        sqs=throttled,
    )  # fmt: skip
    counter = PipelineCounter(lab, table="T", function="f", totals="U", queue="q")  # type: ignore[arg-type]
    counter.counts.written = 7
    report = counter.step()
    assert report.throttled
    assert set(report.errors) == {"table", "stream", "totals", "queue"}
    assert counter.counts.written == 7 and counter.counts.failed == 0
