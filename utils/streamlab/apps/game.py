"""The seed application's data: games played, and per-player totals kept by a stream consumer.

Lab 04 builds the workshop's mobile-game back end: every game played is one item
in ``GameScoreRecords`` (a stream with new and old images), and a Lambda function
on that stream keeps ``GameScoresByUser`` (total score, games played, best
score). These helpers create the tables, write games, read the leaderboard and,
for the lab's final check, recompute every total from the raw games with a scan,
so the learner proves the event-driven aggregate right instead of trusting it.

They take and return plain values (names, dicts of ints) so a learner can do the
same with raw ``boto3`` calls.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore.exceptions

from streamlab.aws import tables
from streamlab.aws.account import low_concurrency_note
from streamlab.aws.functions import table_variable
from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tag_list
from streamlab.aws.waiting import Wait
from streamlab.errors import LabError

SCORES_TABLE = "GameScoreRecords"
TOTALS_TABLE = "GameScoresByUser"
# The aggregator reads its target table's name from here (as --table GameScoresByUser sets it).
TOTALS_TABLE_ENV = table_variable(TOTALS_TABLE)
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
DEFAULT_PLAYERS: tuple[str, ...] = ("Alice", "Bob", "Carol", "Dave", "Eve")
MAX_SCORE = 1000
TOTAL_FIELDS = ("TotalScore", "GamesPlayed", "BestScore")
AGGREGATOR_SOURCE = Path(__file__).parent / "lambda_sources" / "game_aggregator.py"
_BATCH = 25  # BatchWriteItem's limit


class GameTableMissing(LabError):
    """A game table does not exist yet; the message names the cell to run."""


@dataclass(frozen=True)
class GameTables:
    """The two tables' real names (with the participant prefix) and the scores stream."""

    scores: str
    totals: str
    stream_arn: str


def scores_table_name(lab: Lab) -> str:
    return lab.name(SCORES_TABLE)


def totals_table_name(lab: Lab) -> str:
    return lab.name(TOTALS_TABLE)


# -- tables ------------------------------------------------------------------------------


def create_game_tables(lab: Lab) -> GameTables:
    """Create both tables if missing (on-demand, tagged) and wait until they are ACTIVE.

    Safe to run again: an existing ``GameScoreRecords`` without a stream gets one,
    so a learner can start lab 04 from any earlier state.
    """
    scores = scores_table_name(lab)
    totals = totals_table_name(lab)
    _create_table(
        lab,
        scores,
        "RecordID",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
    )
    _create_table(lab, totals, "PlayerName")
    for name in (scores, totals):
        tables.wait_until_active(lab, name)
    stream_arn = _ensure_stream(lab, scores)
    return GameTables(scores=scores, totals=totals, stream_arn=stream_arn)


def _create_table(lab: Lab, name: str, hash_key: str, **extra: Any) -> None:
    tables.ensure_not_deleting(lab, name)
    try:
        lab.dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=prefix_tag_list(lab.prefix),
            **extra,
        )
    except botocore.exceptions.ClientError as exc:
        if _code(exc) != "ResourceInUseException":  # it exists already: that is fine
            raise


def _ensure_stream(lab: Lab, table: str) -> str:
    description = lab.dynamodb.describe_table(TableName=table)["Table"]
    spec = description.get("StreamSpecification") or {}
    if spec.get("StreamEnabled"):
        if spec.get("StreamViewType") not in ("NEW_IMAGE", STREAM_VIEW_TYPE):
            raise LabError(
                f"{table} has a {spec.get('StreamViewType')} stream, but the aggregator needs "
                f"each new game's image: delete the table (delete_game_tables(lab)) and run "
                "create_game_tables(lab) again."
            )
        return description["LatestStreamArn"]
    lab.dynamodb.update_table(
        TableName=table,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
    )
    return tables.wait_until_active(lab, table)["LatestStreamArn"]


def delete_game_tables(lab: Lab) -> list[str]:
    """Delete both tables (the ones that exist); returns the names deleted."""
    deleted = []
    for name in (scores_table_name(lab), totals_table_name(lab)):
        try:
            lab.dynamodb.delete_table(TableName=name)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            continue
        deleted.append(name)
    for name in deleted:
        tables.wait_until_gone(lab, name)
    return deleted


def start_afresh(lab: Lab) -> GameTables:
    """Empty tables, every run: delete the mappings on the old stream (and the logs of the
    functions they fed), both tables, then create them again.

    Lab 04 proves its totals against every game in the table, so it must not inherit games
    that another lab changed or deleted after they were counted (lab 06 does both, and lab
    04's aggregator counts INSERTs only). Deleting the mappings first stops every poller
    reading the old stream, lab 06's included (lab 06 reconnects its own when run again).
    """
    from streamlab.aws.mappings import delete_mappings

    try:
        arn = lab.dynamodb.describe_table(TableName=scores_table_name(lab))["Table"]["TableArn"]
    except lab.dynamodb.exceptions.ResourceNotFoundException:
        arn = None
    readers: set[str] = set()
    if arn:
        uuids: list[str] = []
        listed = lab.lambda_.get_paginator("list_event_source_mappings").paginate()
        for page in listed:
            for mapping in page["EventSourceMappings"]:
                if mapping.get("EventSourceArn", "").startswith(f"{arn}/stream/"):
                    uuids.append(mapping["UUID"])
                    readers.add(mapping["FunctionArn"].split(":")[6])
        delete_mappings(lab, uuids)  # all at once, then one bounded wait for all of them
        for function in readers:  # their logs too, so counts of log lines start at zero
            try:
                lab.logs.delete_log_group(logGroupName=f"/aws/lambda/{function}")
            except lab.logs.exceptions.ResourceNotFoundException:
                pass
    delete_game_tables(lab)
    return create_game_tables(lab)


# -- games -------------------------------------------------------------------------------


def game_item(
    player: str, score: int, *, record_id: str | None = None, game_time: str | None = None
) -> dict[str, Any]:
    """One game as a DynamoDB item (low-level attribute-value shape)."""
    _check_player(player)
    _check_score(score)
    return {
        "RecordID": {"S": record_id or uuid.uuid4().hex},
        "PlayerName": {"S": player},
        "Score": {"N": str(score)},
        "GameTime": {"S": game_time or _now()},
    }


def record_game(
    lab: Lab, player: str, score: int, *, record_id: str | None = None
) -> dict[str, Any]:
    """Put one game into GameScoreRecords (one INSERT on its stream); returns the item."""
    item = game_item(player, score, record_id=record_id)
    table = scores_table_name(lab)
    try:
        lab.dynamodb.put_item(TableName=table, Item=item)
    except botocore.exceptions.ClientError as exc:
        raise _missing_or_original(exc, table) from None
    return item


def simulate_games(
    lab: Lab,
    count: int,
    *,
    players: Sequence[str] = DEFAULT_PLAYERS,
    seed: int | None = None,
    max_score: int = MAX_SCORE,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Write ``count`` random games in batches of 25; the same ``seed`` gives the same games.

    Each game still gets a new RecordID, so running the cell again plays new games
    (a rewritten identical item would change nothing and write no stream record).
    ``progress(done, total)`` is called after each batch, e.g. to move a progress bar.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise LabError(f"count={count!r}: give the number of games to play, a whole number ≥ 1.")
    players = list(players)
    if not players:
        raise LabError("players is empty: give at least one player name, e.g. ['Alice', 'Bob'].")
    for player in players:
        _check_player(player)
    _check_score(max_score)
    rng = random.Random(seed)
    items = [
        game_item(rng.choice(players), rng.randint(0, max_score), record_id=uuid.uuid4().hex)
        for _ in range(count)
    ]
    table = scores_table_name(lab)
    done = 0
    for start in range(0, count, _BATCH):
        chunk = items[start : start + _BATCH]
        _batch_put(lab, table, chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, count)
    return items


def _batch_put(lab: Lab, table: str, items: list[dict[str, Any]]) -> None:
    requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(10):
        try:
            answer = lab.dynamodb.batch_write_item(RequestItems={table: requests})
        except botocore.exceptions.ClientError as exc:
            raise _missing_or_original(exc, table) from None
        requests = answer.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return
        time.sleep(min(0.05 * 2**attempt, 2.0))  # AWS asks for back-off on unprocessed items
    raise LabError(
        f"{table} kept refusing {len(requests)} writes (throttled): wait a minute and try again."
    )


# -- reading -----------------------------------------------------------------------------


def leaderboard(lab: Lab, *, limit: int | None = None) -> list[dict[str, Any]]:
    """GameScoresByUser as rows sorted by total score (highest first), then by name."""
    table = totals_table_name(lab)
    rows = [_totals_row(item) for item in _scan(lab, table)]
    rows.sort(key=lambda row: (-row["TotalScore"], row["PlayerName"]))
    return rows if limit is None else rows[:limit]


def _totals_row(item: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"PlayerName": item["PlayerName"]["S"]}
    for name in TOTAL_FIELDS:
        row[name] = int(item[name]["N"]) if name in item else 0
    return row


def _scan(
    lab: Lab, table: str, pages: list[int] | None = None, page_size: int | None = None
) -> Iterable[dict[str, Any]]:
    """Every item of ``table`` with a paginated, strongly consistent scan."""
    paginator = lab.dynamodb.get_paginator("scan")
    options: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if page_size is not None:
        options["Limit"] = page_size
    try:
        for page in paginator.paginate(**options):
            if pages is not None:
                pages.append(len(page.get("Items", [])))
            yield from page.get("Items", [])
    except botocore.exceptions.ClientError as exc:
        raise _missing_or_original(exc, table) from None


# -- the final check ---------------------------------------------------------------------


@dataclass(repr=False)
class TotalsComparison:
    """Totals recomputed from every game versus what the aggregate table holds."""

    expected: dict[str, dict[str, int]]
    actual: dict[str, dict[str, int]]
    games: int = 0
    pages: int = 0
    missing: list[str] = field(default_factory=list)  # players with games but no totals row
    unexpected: list[str] = field(default_factory=list)  # totals rows without any game
    # (player, field, expected, actual) for each total that differs
    mismatched: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        """One line: PASS, or how many players differ and the first difference."""
        if self.ok:
            return (
                f"PASS: {len(self.expected)} players' totals match {self.games} games "
                f"(scanned in {self.pages} page(s))."
            )
        return f"FAIL: {self.describe_differences()[0]}"

    def describe_differences(self, limit: int = 10) -> list[str]:
        lines = [f"{player}: has games but no row in {TOTALS_TABLE}" for player in self.missing]
        lines += [
            f"{player}: has a row in {TOTALS_TABLE} but no games" for player in self.unexpected
        ]
        lines += [
            f"{player}: {name} is {actual}, expected {expected}"
            for player, name, expected, actual in self.mismatched
        ]
        if len(lines) > limit:
            lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
        return lines

    def __str__(self) -> str:
        if self.ok:
            return self.summary()
        differing = len({*self.missing, *self.unexpected, *(m[0] for m in self.mismatched)})
        head = (
            f"FAIL: {differing} of {len(set(self.expected) | set(self.actual))} players differ "
            f"after {self.games} games:"
        )
        return "\n".join([head, *("  " + line for line in self.describe_differences())])

    def __repr__(self) -> str:  # a notebook shows the verdict, not two dicts of every player
        return str(self)


def expected_totals(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per-player TotalScore, GamesPlayed and BestScore computed from raw game items."""
    totals: dict[str, dict[str, int]] = {}
    for item in items:
        player = item["PlayerName"]["S"]
        score = int(item["Score"]["N"])
        row = totals.setdefault(player, {"TotalScore": 0, "GamesPlayed": 0, "BestScore": score})
        row["TotalScore"] += score
        row["GamesPlayed"] += 1
        row["BestScore"] = max(row["BestScore"], score)
    return totals


def recompute_totals_by_scan(lab: Lab, *, page_size: int | None = None) -> TotalsComparison:
    """Rebuild every player's totals from GameScoreRecords and compare with GameScoresByUser.

    A scan returns at most 1 MB per call, so it follows ``LastEvaluatedKey`` page by
    page (``page_size`` sets a smaller page, to see the pagination happen).
    """
    pages: list[int] = []
    games = list(_scan(lab, scores_table_name(lab), pages, page_size))
    return compare_totals(expected_totals(games), _actual_totals(lab), len(games), len(pages))


def _actual_totals(lab: Lab) -> dict[str, dict[str, int]]:
    return {
        row["PlayerName"]: {name: row[name] for name in TOTAL_FIELDS} for row in leaderboard(lab)
    }


def compare_totals(
    expected: dict[str, dict[str, int]],
    actual: dict[str, dict[str, int]],
    games: int = 0,
    pages: int = 0,
) -> TotalsComparison:
    """Every difference between totals computed from the games and the aggregate's rows."""
    comparison = TotalsComparison(expected, actual, games=games, pages=pages)
    for player in sorted(expected):
        if player not in actual:
            comparison.missing.append(player)
            continue
        for name in TOTAL_FIELDS:
            if expected[player][name] != actual[player][name]:
                comparison.mismatched.append(
                    (player, name, expected[player][name], actual[player][name])
                )
    comparison.unexpected = sorted(set(actual) - set(expected))
    return comparison


def wait_for_totals(lab: Lab, *, timeout: float = 60.0, interval: float = 0.5) -> TotalsComparison:
    """Recompute until the aggregate catches up with the games or ``timeout`` runs out.

    The aggregator runs after the writes (milliseconds locally, about a second on
    AWS), so a check right after a burst must wait; the last comparison is returned
    either way so a failure shows what is still different. The games are scanned
    once; while waiting only the small aggregate table is re-read (a scan of every
    game each time would compete with the aggregator it waits for), and the games
    are scanned again when the aggregate matches or has counted as many games as
    there were, in case more games arrived meanwhile.
    """
    wait = Wait(
        f"{TOTALS_TABLE} to count every game",
        timeout,
        "",
        interval=interval,
        jitter=0.2 if lab.backend == "aws" else 0.0,
    )
    comparison = recompute_totals_by_scan(lab)
    while not comparison.ok and wait.remaining() > 0:
        counted_so_far = sum(row.get("GamesPlayed", 0) for row in comparison.actual.values())
        wait.pause(f"{counted_so_far} of {comparison.games} games counted")
        actual = _actual_totals(lab)
        cheap = compare_totals(comparison.expected, actual, comparison.games, comparison.pages)
        counted = sum(row["GamesPlayed"] for row in actual.values())
        # Scan again when the aggregate matches, or has counted as many games as the last
        # scan found (then more games may have arrived since).
        comparison = recompute_totals_by_scan(lab) if cheap.ok or counted >= cheap.games else cheap
    if comparison.ok:
        wait.done()
    return comparison


def check_totals(lab: Lab, *, min_games: int = 500, timeout: float = 60.0) -> TotalsComparison:
    """Lab 04's final check: at least ``min_games`` games, and every total right.

    Waits up to ``timeout`` seconds for the aggregator to catch up, then prints one
    PASS line, or raises a LabError whose message says what is wrong and where to look.
    """
    comparison = wait_for_totals(lab, timeout=timeout)
    if comparison.games < min_games:
        raise LabError(
            f"Only {comparison.games} games in {scores_table_name(lab)}, the check needs at "
            f"least {min_games}: run the burst cell (simulate_games(lab, {min_games})) first."
        )
    if not comparison.ok:
        note = low_concurrency_note(lab)  # a throttled account, not the learner's code
        hint = note or _hint(comparison)
        raise LabError(f"{comparison.summary()[len('FAIL: ') :]} ({hint})")
    print(comparison.summary())
    return comparison


def _hint(comparison: TotalsComparison) -> str:
    """Where to look, from the kind of difference."""
    if comparison.actual == {}:
        return (
            f"{TOTALS_TABLE} is empty: is the function deployed and its event source mapping "
            "Enabled? Read the function's logs for errors"
        )
    fields = {name for _, name, _, _ in comparison.mismatched}
    too_many = any(
        name == "GamesPlayed" and actual > expected
        for _, name, expected, actual in comparison.mismatched
    )
    if too_many:
        return (
            "more games counted than the table holds: a retried batch counted twice, or games "
            "were changed or deleted after they were counted (lab 06 does both; lab 05's "
            "aggregator handles them); to start the totals again from the games: "
            "game.rebuild_totals(lab)"
        )
    if fields == {"BestScore"}:
        return "BestScore must only go up: update it with a condition on the old value"
    return (
        "still different after waiting: check the function's logs for errors, and that it "
        "ADDs each INSERT's Score to TotalScore and 1 to GamesPlayed"
    )


def rebuild_totals(lab: Lab) -> TotalsComparison:
    """Overwrite every player's totals with what a scan of the games gives.

    The escape hatch when the aggregate has drifted from the games (games edited or
    deleted by another lab, or counted twice before the aggregator was idempotent).
    Run it while no games are being written.
    """
    comparison = recompute_totals_by_scan(lab)
    table = totals_table_name(lab)
    for player, totals in comparison.expected.items():
        item = {"PlayerName": {"S": player}}
        item.update({name: {"N": str(value)} for name, value in totals.items()})
        lab.dynamodb.put_item(TableName=table, Item=item)
    for player in comparison.unexpected:
        lab.dynamodb.delete_item(TableName=table, Key={"PlayerName": {"S": player}})
    return recompute_totals_by_scan(lab)


# -- the aggregator ----------------------------------------------------------------------


def aggregator_source() -> str:
    """The reference aggregator (module text); its handler is ``lambda_handler``, like lab 04's."""
    return AGGREGATOR_SOURCE.read_text(encoding="utf-8")


def aggregator_environment(lab: Lab) -> dict[str, str]:
    """The function's environment variables: where it writes the totals."""
    return {TOTALS_TABLE_ENV: totals_table_name(lab)}


# -- small helpers -----------------------------------------------------------------------


def _check_player(player: object) -> None:
    if not isinstance(player, str) or not player.strip():
        raise LabError(f"player={player!r}: give a player's name, e.g. 'Alice'.")


def _check_score(score: object) -> None:
    if isinstance(score, bool) or not isinstance(score, int) or score < 0:
        raise LabError(f"score={score!r}: a score is a whole number ≥ 0, e.g. 720.")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _missing_or_original(exc: botocore.exceptions.ClientError, table: str) -> Exception:
    if _code(exc) == "ResourceNotFoundException":
        return GameTableMissing(
            f"Table {table} does not exist yet: run create_game_tables(lab) "
            "(lab 04's setup cell) first."
        )
    return exc
