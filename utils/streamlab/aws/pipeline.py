"""Counting what flows through a stream pipeline: table → stream → function → totals, and failures.

Labs 04 and 05 build the same pipeline: games written into a table with a stream,
an event source mapping that hands the stream's records to a function in batches,
the function's totals in a second table, and (lab 05) an on-failure queue for the
batches given up on. ``PipelineCounter.step()`` reads each stage once and updates
``PipelineCounts``; the live view (``streamlab.widgets.pipeline``) calls it in a
loop.

Every source works on both backends, and every call it makes is cheap and
incremental, because on AWS the quotas are per account and a whole room shares
them (DescribeStream 10/s, FilterLogEvents about 5/s): the stream is followed with
kept shard iterators and the log with kept ``nextToken``s and a moving start
time, never read again from the start. A shard serves about five GetRecords a second,
shared by its readers (Lambda's poller takes most of it, hence "at most two readers
per shard"): one read per shard every 10 s is a small share, but it is a share, so
the view belongs where a person watches, not in every cell. What each count means,
and where it comes from:

``written``
    Games now in the table: a ``Scan`` with ``Select="COUNT"`` of the games table
    (a deleted game no longer counts).
``in_stream``
    Records the table's stream has carried (INSERT, MODIFY and REMOVE), counted
    once each across every shard, children of rolled-over shards included
    (``streams.StreamFollower`` from ``TRIM_HORIZON``).
``delivered``
    Records handed to the function in batches that it finished: the ``N record(s)``
    in its log lines (the aggregators print ``Added ... from N record(s)`` and
    ``counted ... of N record(s)``), since the mapping from this stream to the
    function was created or last changed (its ``LastModified``). At least once: a
    batch delivered again after a failure counts again. A function that prints no
    such line delivers nothing here.
``retried``
    Invocations that failed (an ``[ERROR]`` or ``Task timed out`` line in the
    function's log, over the same period): the mapping invokes the function again
    with that batch (or, bisecting, with each half) until it succeeds or gives up.
``failed``
    Batches given up on and waiting in the on-failure queue (SQS
    ``ApproximateNumberOfMessages`` plus ``...NotVisible``: one message per batch).
    Reading the queue with ``show_failures`` deletes the messages, so this goes
    down again. ``None`` when the pipeline has no queue.
``counted``
    Games the totals table has counted: the sum of ``GamesPlayed`` over its rows.

A source that fails leaves its count as it was and its error is kept in the
step's report (``errors``, by source); throttling is reported separately
(``throttled``) so the caller can look less often.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import botocore.exceptions

from streamlab.aws import logs, mappings, streams
from streamlab.aws.session import Lab
from streamlab.errors import LabError

#: The function's log lines that matter here (CloudWatch's "any of these terms").
LOG_PATTERN = '?"record(s)" ?"[ERROR]" ?"Task timed out"'
RECORDS_LINE = re.compile(r"(\d+) record\(s\)")
FAILED_MARKS = ("[ERROR]", "Task timed out")
#: Log events can be ingested a while after their timestamp (seconds on AWS): each new
#: query starts this much before the newest event seen, and event ids drop the repeats.
LOG_OVERLAP_MS = {"local": 2_000, "aws": 60_000}
#: Pages read per source and step, so a long backlog never bursts an account's quota.
MAX_PAGES = 5
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)
STAGES = ("written", "in_stream", "delivered", "counted", "retried", "failed")


@dataclass
class PipelineCounts:
    """The counts of one look at the pipeline (see the module docstring for each).

    ``None`` means "not known": the source is missing (no queue) or was never read.
    """

    written: int | None = None
    in_stream: int | None = None
    delivered: int | None = None
    counted: int | None = None
    retried: int | None = None
    failed: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class StepReport:
    """What one ``step`` found wrong: the error of each failed source, and whether AWS throttled."""

    errors: dict[str, BaseException] = field(default_factory=dict)
    throttled: bool = False


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES


def _millis(value: Any) -> int:
    """A LastModified (datetime, epoch seconds, or ISO text) as epoch milliseconds."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, (int, float)):
        return int(value * 1000)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


class StreamCount:
    """Records the stream has carried, each counted once, read incrementally.

    A new stream ARN (the table was deleted and created again) starts the count
    afresh. An iterator that expired or points past the trim horizon is replaced
    by reading the stream again; the records' ids keep that from counting twice.
    """

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.arn: str | None = None
        self._follower: streams.StreamFollower | None = None
        self._seen: set[tuple[str, str]] = set()

    @property
    def count(self) -> int:
        return len(self._seen)

    def step(self, arn: str) -> int:
        if arn != self.arn:
            self.arn, self._follower, self._seen = arn, None, set()
        if self._follower is None:
            self._follower = streams.StreamFollower(self.lab, arn, position="TRIM_HORIZON")
        try:
            records = self._follower.poll()
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                self._follower = None  # read again next time; ids drop what was counted
            raise
        for record in records:
            self._seen.add((record.get("eventID", ""), record["dynamodb"]["SequenceNumber"]))
        return self.count


class LogCount:
    """The function's batch lines and failures, from its CloudWatch Logs, read incrementally.

    One ``FilterLogEvents`` query runs from ``start`` (epoch ms) page by page, at
    most ``MAX_PAGES`` per step, keeping its ``nextToken`` between steps; when it
    is done, the next query starts just before the newest event seen, and events
    already counted (by ``eventId``) are skipped.
    """

    def __init__(self, lab: Lab, function_name: str, start: int) -> None:
        self.lab = lab
        self.function_name = function_name
        self.start = start
        self.delivered = 0
        self.retried = 0
        self.overlap = LOG_OVERLAP_MS.get(lab.backend, LOG_OVERLAP_MS["aws"])
        self._query: dict[str, Any] | None = None
        self._newest = start
        self._seen: dict[str, int] = {}  # eventId -> timestamp, pruned behind the window

    def step(self) -> None:
        client = self.lab.logs
        for _ in range(MAX_PAGES):
            if self._query is None:
                self._query = {
                    "logGroupName": logs.log_group_name(self.function_name),
                    "filterPattern": LOG_PATTERN,
                    "startTime": max(self.start, self._newest - self.overlap),
                }
            try:
                page = client.filter_log_events(**self._query)
            except client.exceptions.ResourceNotFoundException:
                self._query = None  # the function has not logged yet
                return
            for event in page.get("events", []):
                self._take(event)
            token = page.get("nextToken")
            if not token:
                self._query = None
                self._prune()
                return
            self._query["nextToken"] = token

    def _take(self, event: dict[str, Any]) -> None:
        key = event.get("eventId") or f"{event.get('logStreamName')}/{event['timestamp']}"
        if key in self._seen:
            return
        message = event.get("message", "")
        if not logs.matches_pattern(LOG_PATTERN, message):
            return  # the emulator lets "?a ?b" patterns through unfiltered
        self._seen[key] = event["timestamp"]
        self._newest = max(self._newest, event["timestamp"])
        if any(mark in message for mark in FAILED_MARKS):
            self.retried += 1
            return
        found = RECORDS_LINE.search(message)
        if found:
            self.delivered += int(found[1])

    def _prune(self) -> None:
        horizon = self._newest - self.overlap
        self._seen = {key: stamp for key, stamp in self._seen.items() if stamp >= horizon}


class PipelineCounter:
    """Reads every stage of one pipeline once per ``step``; ``counts`` holds the latest.

    Give base names (``GameScoreRecords``, ``game-aggregator``, ...): the lab's
    prefix is added. ``totals`` and ``queue`` are optional; ``queue`` may be the
    queue's URL instead (lab 05 has it, and then no GetQueueUrl is needed). ``since`` (epoch ms)
    fixes where the log count starts; by default it is the mapping's
    ``LastModified``, found once the mapping exists (no mapping, nothing delivered).
    """

    def __init__(
        self,
        lab: Lab,
        *,
        table: str,
        function: str,
        totals: str | None = None,
        queue: str | None = None,
        since: int | None = None,
    ) -> None:
        self.lab = lab
        self.table = lab.name(table)
        self.function = lab.name(function)
        self.totals = lab.name(totals) if totals else None
        # A queue's URL is used as it is; a base name is looked up once (sqs:GetQueueUrl).
        self.queue = queue if not queue or "://" in queue else lab.name(queue)
        self.since = since
        self.counts = PipelineCounts(
            written=0, in_stream=0, delivered=0, retried=0,
            counted=0 if totals else None, failed=0 if queue else None,
        )  # fmt: skip
        self.report = StepReport()
        self._stream = StreamCount(lab)
        self._log: LogCount | None = None
        self._queue_url: str | None = queue if queue and "://" in queue else None
        for client in ("dynamodb", "dynamodbstreams", "logs", "lambda_", "sqs"):
            getattr(lab, client)  # boto3 clients are made here, never concurrently in a thread

    def step(self) -> StepReport:
        """Look at every source once; a failing source keeps its count and names its error."""
        report = StepReport()
        arn: str | None = None
        self._run(report, "table", self._read_table)
        try:
            arn = self._stream_arn()
        except Exception as exc:  # noqa: BLE001 - reported in one line
            self._fail(report, "stream", exc)
        if arn is not None:
            stream_arn = arn
            self._run(report, "stream", lambda: self._read_stream(stream_arn))
            self._run(report, "log", lambda: self._read_log(stream_arn))
        if self.totals:
            self._run(report, "totals", self._read_totals)
        if self.queue:
            self._run(report, "queue", self._read_queue)
        self.report = report
        return report

    # -- the sources -------------------------------------------------------------------
    def _run(self, report: StepReport, name: str, read: Callable[[], None]) -> None:
        try:
            read()
        except Exception as exc:  # noqa: BLE001 - reported in one line
            self._fail(report, name, exc)

    def _fail(self, report: StepReport, name: str, exc: BaseException) -> None:
        if is_throttling(exc):
            report.throttled = True
        report.errors[name] = exc

    def _read_table(self) -> None:
        self.counts.written = self._scan(self.table, lambda page: page.get("Count", 0), "COUNT")

    def _read_totals(self) -> None:
        assert self.totals is not None

        def games(page: dict[str, Any]) -> int:
            return sum(int(item.get("GamesPlayed", {}).get("N", 0)) for item in page["Items"])

        self.counts.counted = self._scan(self.totals, games, None)

    def _scan(self, table: str, count: Callable[[dict[str, Any]], int], select: str | None) -> int:
        request: dict[str, Any] = {"TableName": table}
        if select:
            request["Select"] = select
        else:
            request.update(ProjectionExpression="GamesPlayed")
        total = 0
        while True:
            page = self.lab.dynamodb.scan(**request)
            total += count(page)
            if not page.get("LastEvaluatedKey"):
                return total
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _stream_arn(self) -> str:
        """The table's stream (with the lab's own client: never a new one from a thread)."""
        client = self.lab.dynamodb
        try:
            table = client.describe_table(TableName=self.table)["Table"]
        except client.exceptions.ResourceNotFoundException:
            raise LabError(f"table {self.table} does not exist yet: run the cells above.") from None
        arn = table.get("LatestStreamArn")
        if not arn or not table.get("StreamSpecification", {}).get("StreamEnabled"):
            raise LabError(f"table {self.table} has no stream: run the cells above.")
        return arn

    def _read_stream(self, arn: str) -> None:
        if self._stream.arn is not None and arn != self._stream.arn:
            # The table was created again (a lab run afresh): a new stream, a new mapping.
            self._log = None
            self.counts.delivered = self.counts.retried = 0
        self.counts.in_stream = self._stream.step(arn)

    def _read_log(self, arn: str) -> None:
        if self._log is None:
            start = self.since
            if start is None:
                mapping = mappings.find_mapping(self.lab, arn, self.function)
                if mapping is None:
                    return  # nothing invokes the function from this stream yet
                start = _millis(mapping["LastModified"])
            self._log = LogCount(self.lab, self.function, start)
        self._log.step()
        self.counts.delivered = self._log.delivered
        self.counts.retried = self._log.retried

    def _read_queue(self) -> None:
        sqs = self.lab.sqs
        if self._queue_url is None:
            self._queue_url = sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=self._queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        self.counts.failed = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )
