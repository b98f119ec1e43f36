"""Lab 05's tables, queues and observations: duplicates, poison records, backlogs, failures.

Lab 05 runs the game's aggregator on tables of its own (``ReliabilityGames``
with a stream, ``ReliabilityTotals``, the idempotency markers in
``ReliabilityEvents`` and a ``ReliabilityFeed`` of new games), so it never
disturbs lab 04's leaderboard and can start afresh on every run. These helpers
read what the learner needs to *see*: totals recomputed from the games, the
backlog behind a poison record and its age, and the on-failure queue's
descriptions turned back into the records they point at.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from streamlab.aws import functions, mappings, queues, streams, tables
from streamlab.aws.session import Lab
from streamlab.aws.waiting import poll_until
from streamlab.errors import LabError

GAMES = "ReliabilityGames"
TOTALS = "ReliabilityTotals"
EVENTS = "ReliabilityEvents"
FEED = "ReliabilityFeed"
TABLE_KEYS = {GAMES: "RecordID", TOTALS: "PlayerName", EVENTS: "EventID", FEED: "RecordID"}
FUNCTIONS = ("naive-aggregator", "aggregator", "games-feed")
QUEUES = ("aggregator-failures", "feed-failures")
AGGREGATOR = "aggregator"
AGGREGATOR_SOURCE = Path(__file__).parent / "lambda_sources" / "reliable_aggregator.py"
#: what the aggregator cell's ``%%lambda_function`` line grants (base names)
AGGREGATOR_ACCESS = {
    "tables": [TOTALS, EVENTS],
    "streams": [GAMES],
    "queues": ["aggregator-failures"],
}
T = TypeVar("T")


def _poll(lab: Lab) -> float:
    return 0.1 if lab.backend == "local" else 2.0


def wait_until(
    lab: Lab, probe: Callable[[], T], done: Callable[[T], bool], timeout: float | None = None
) -> T:
    """Call ``probe`` until ``done(result)`` or the timeout; the last result either way."""
    timeout = (15.0 if lab.backend == "local" else 120.0) if timeout is None else timeout
    return poll_until(
        probe,
        done,
        what="the aggregator to catch up",
        limit=timeout,
        interval=_poll(lab),
        jitter=0.2 if lab.backend == "aws" else 0.0,
        status=lambda result: getattr(result, "summary", lambda: "")()[:100],
    )


# -- starting afresh -------------------------------------------------------------------


def delete_mappings(lab: Lab, function_names: Iterable[str] = FUNCTIONS) -> int:
    """Delete every mapping of these functions (on any stream); returns how many."""
    count = 0
    for name in function_names:
        try:
            found = lab.lambda_.list_event_source_mappings(FunctionName=lab.name(name))
        except lab.lambda_.exceptions.ResourceNotFoundException:
            continue
        for mapping in found["EventSourceMappings"]:
            mappings.delete_mapping(lab, mapping["UUID"])
            count += 1
    return count


def start_afresh(lab: Lab) -> dict[str, dict[str, str]]:
    """Remove what an earlier run left (mappings, tables, queued messages), create it anew.

    Returns the queues (``QueueUrl``, ``QueueArn``) by base name. Functions and
    their roles are kept: on AWS a new role takes a while to become usable.
    """
    delete_mappings(lab)
    for base in TABLE_KEYS:
        tables.delete_table(lab, lab.name(base))
    for base, key in TABLE_KEYS.items():
        view = "NEW_AND_OLD_IMAGES" if base == GAMES else None
        tables.create_table(lab, lab.name(base), hash_key=(key, "S"), stream_view_type=view)
    made = {}
    for base in QUEUES:
        made[base] = queues.create_queue(lab, lab.name(base))
        queues.receive_all(lab, made[base]["QueueUrl"], wait_seconds=0)
    return made


def aggregator_source() -> str:
    """The kit's idempotent aggregator (the answer to exercise 5.1), as module text."""
    return AGGREGATOR_SOURCE.read_text(encoding="utf-8")


def ensure_aggregator(lab: Lab, name: str = AGGREGATOR) -> None:
    """Deploy the kit's aggregator unless yours is there, so the rest of the lab can run."""
    try:
        lab.lambda_.get_function_configuration(FunctionName=lab.name(name))
    except lab.lambda_.exceptions.ResourceNotFoundException:
        functions.deploy_function(lab, name, aggregator_source(), **AGGREGATOR_ACCESS)
        message = (
            f"{lab.name(name)}: yours is not deployed yet (exercise 5.1), so the kit's reference "
            "aggregator stands in; run your cell again when it is done."
        )
    else:
        message = f"{lab.name(name)}: your function from exercise 5.1 is deployed."
    print(message)


# -- games and totals ------------------------------------------------------------------


def game_item(record_id: str, player: str, score: int | str) -> dict[str, Any]:
    """A game as plain values; a ``str`` score is the poison record a buggy client writes."""
    return {"RecordID": record_id, "PlayerName": player, "Score": score}


def write_games(lab: Lab, games: Sequence[dict[str, Any]]) -> int:
    """Put the games, in order, in one BatchWriteItem per 25 (one stream record each)."""
    return tables.put_items(lab, lab.name(GAMES), games)


def counted_score(item: dict[str, Any]) -> int | None:
    """The (plain) game's score, or None when it is not a number (a poison record)."""
    value = item.get("Score")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def expected_totals(lab: Lab) -> dict[str, dict[str, int]]:
    """TotalScore and GamesPlayed per player, recomputed from every readable game."""
    result: dict[str, dict[str, int]] = {}
    for item in tables.scan_all(lab, lab.name(GAMES)):
        score = counted_score(item)
        if score is None:
            continue
        row = result.setdefault(item["PlayerName"], {"TotalScore": 0, "GamesPlayed": 0})
        row["TotalScore"] += score
        row["GamesPlayed"] += 1
    return result


def totals(lab: Lab) -> dict[str, dict[str, int]]:
    """What ReliabilityTotals holds, as plain ints (rows without games left out)."""
    result = {}
    for item in tables.scan_all(lab, lab.name(TOTALS)):
        row = {name: int(item.get(name, 0)) for name in ("TotalScore", "GamesPlayed")}
        if row != {"TotalScore": 0, "GamesPlayed": 0}:
            result[item["PlayerName"]] = row
    return result


@dataclass
class Comparison:
    """The aggregate next to the totals recomputed from the games."""

    expected: dict[str, dict[str, int]]
    actual: dict[str, dict[str, int]]
    why: str = ""  # when known: why the totals cannot be right yet

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    @property
    def games(self) -> int:
        return sum(row["GamesPlayed"] for row in self.expected.values())

    @property
    def counted(self) -> int:
        return sum(row["GamesPlayed"] for row in self.actual.values())

    def lines(self) -> list[str]:
        players = sorted(set(self.expected) | set(self.actual))
        empty = {"TotalScore": 0, "GamesPlayed": 0}
        out = []
        for player in players:
            want, got = self.expected.get(player, empty), self.actual.get(player, empty)
            verdict = "ok" if want == got else "WRONG"
            out.append(
                f"{player:6} total {got['TotalScore']:5} (games say {want['TotalScore']:5}), "
                f"games {got['GamesPlayed']} (games say {want['GamesPlayed']})  {verdict}"
            )
        return out

    def __repr__(self) -> str:
        lines = self.lines()
        if self.why and not self.ok:
            lines.insert(0, f"Not counted yet: {self.why}")
        return "\n".join(lines) or "(no games and no totals)"


def compare_totals(lab: Lab) -> Comparison:
    return Comparison(expected_totals(lab), totals(lab))


def wait_for_totals(
    lab: Lab,
    done: Callable[[Comparison], bool] | None = None,
    timeout: float | None = None,
    *,
    function: str | None = None,
) -> Comparison:
    """Compare until ``done`` (by default: the totals are right) or the timeout.

    With ``function``, a mapping from the games' stream to it that is not enabled
    means nothing will change: compare once instead of waiting in vain.
    """
    if function is not None:
        state = _mapping_state(lab, function)
        if state != "Enabled":
            comparison = compare_totals(lab)
            where = f"{lab.name(GAMES)} -> {lab.name(function)}"
            comparison.why = (
                f"the mapping {where} is {state}, so its games wait in the stream; "
                "exercise 5.2 enables it with the safe settings."
                if state
                else f"there is no mapping {where}; run the cells of section 2 again."
            )
            return comparison
    return wait_until(lab, lambda: compare_totals(lab), done or (lambda c: c.ok), timeout)


def _mapping_state(lab: Lab, function: str) -> str | None:
    """The state of the mapping from the games' stream to ``function``; None: no mapping."""
    arn = streams.stream_arn(lab, lab.name(GAMES))
    found = mappings.find_mapping(lab, arn, lab.name(function)) if arn else None
    return found.get("State") if found else None


# -- the backlog behind a poison record ------------------------------------------------


def stream_records(lab: Lab, table: str = GAMES) -> list[dict[str, Any]]:
    """Every record of the table's stream, oldest first.

    A stream is read shard by shard, so the records of different shards are
    merged by creation time (then sequence number, the order within a shard).
    """
    arn = streams.stream_arn(lab, lab.name(table))
    if arn is None:
        raise LabError(f"{lab.name(table)} has no stream: run the setup cell at the top.")
    return sorted(
        streams.read_records(lab, arn),
        key=lambda r: (
            _epoch(r["dynamodb"]["ApproximateCreationDateTime"]),
            int(r["dynamodb"]["SequenceNumber"]),
        ),
    )


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


@dataclass
class BacklogSample:
    """One look at a mapping: what was written, what was counted, how old the oldest wait is."""

    seconds: float
    written: int
    counted: int
    oldest_waiting_age: float
    last_result: str

    @property
    def backlog(self) -> int:
        return self.written - self.counted

    def line(self) -> str:
        return (
            f"after {self.seconds:3.0f} s: {self.written:2} games in the table, "
            f"{self.counted:2} counted, backlog {self.backlog:2}, oldest waiting record "
            f"{self.oldest_waiting_age:3.0f} s old; {self.last_result}"
        )


def backlog_sample(lab: Lab, mapping_uuid: str, started: float) -> BacklogSample:
    """Games written versus counted, and the age of the oldest record without a marker.

    That age is what AWS publishes as the function's ``IteratorAge`` metric: how
    far behind the newest record the mapping's checkpoint is.
    """
    records = stream_records(lab)
    marked = {item["EventID"] for item in tables.scan_all(lab, lab.name(EVENTS))}
    waiting = [_epoch(r["dynamodb"]["ApproximateCreationDateTime"]) for r in records
               if r["eventID"] not in marked]
    now = time.time()
    age = now - min(waiting) if waiting else 0.0
    written = len(tables.scan_all(lab, lab.name(GAMES)))
    counted = sum(row["GamesPlayed"] for row in totals(lab).values())
    result = lab.lambda_.get_event_source_mapping(UUID=mapping_uuid).get(
        "LastProcessingResult", "?"
    )
    return BacklogSample(now - started, written, counted, max(age, 0.0), result)


def watch_backlog(
    lab: Lab,
    mapping_uuid: str,
    *,
    samples: int = 3,
    every: float = 1.0,
    write: Callable[[int], None] | None = None,
) -> list[BacklogSample]:
    """Sample the backlog ``samples`` times, ``every`` seconds apart, printing each line.

    ``write(i)`` runs before each sample, e.g. to keep the game going.
    """
    started = time.time()
    result = []
    for i in range(samples):
        if write is not None:
            write(i)
        time.sleep(every)
        sample = backlog_sample(lab, mapping_uuid, started)
        print(sample.line())
        result.append(sample)
    return result


# -- the on-failure queue --------------------------------------------------------------


@dataclass
class FailedBatch:
    """An on-failure message and the records its DDBStreamBatchInfo points at."""

    message: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def info(self) -> dict[str, Any]:
        return self.message["DDBStreamBatchInfo"]


def wait_for_failures(
    lab: Lab,
    queue_url: str,
    *,
    count: int = 1,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """The on-failure messages in the queue (read and deleted), once ``count`` are there."""
    found: list[dict[str, Any]] = []

    def probe() -> list[dict[str, Any]]:
        found.extend(queues.receive_all(lab, queue_url, wait_seconds=0))
        return found

    timeout = (2.0 if lab.backend == "local" else 60.0) if timeout is None else timeout
    return wait_until(lab, probe, lambda got: len(got) >= count, timeout)


def records_of(lab: Lab, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream records a DDBStreamBatchInfo describes: in its shard, from its first
    sequence number to its last (read back with GetRecords)."""
    return streams.read_range(
        lab,
        info["streamArn"],
        info["shardId"],
        info["startSequenceNumber"],
        info["endSequenceNumber"],
    )


def show_failures(lab: Lab, queue_url: str, timeout: float | None = None) -> list[FailedBatch]:
    """Print what the on-failure queue says and the records it means; return them."""
    batches = [
        FailedBatch(message, records_of(lab, message["DDBStreamBatchInfo"]))
        for message in wait_for_failures(lab, queue_url, timeout=timeout)
        if isinstance(message, dict) and "DDBStreamBatchInfo" in message
    ]
    if not batches:
        print("No failed batch reported in the queue (yet).")
    for batch in batches:
        info = batch.info
        print(
            f"{batch.message['requestContext']['condition']}: batchSize {info['batchSize']}, "
            f"sequence numbers {info['startSequenceNumber']}..{info['endSequenceNumber']}, "
            f"function error: {_function_error(batch.message)}"
        )
        for record in batch.records:
            image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage")
            print(f"   {record['eventName']} {tables.format_value(tables.to_plain(image))}")
    return batches


def _function_error(message: dict[str, Any]) -> str:
    error = message.get("responseContext", {}).get("functionError")
    return error or "none (the function reported the record as a batch item failure)"


def feed(lab: Lab) -> dict[str, dict[str, Any]]:
    """The games feed by RecordID, as plain values."""
    return {item["RecordID"]: item for item in tables.scan_all(lab, lab.name(FEED))}
