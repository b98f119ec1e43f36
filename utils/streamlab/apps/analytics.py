"""Windowed analytics on a stream: the results table, waiting for windows, and a bar chart.

With ``TumblingWindowInSeconds`` a mapping cuts the stream into windows aligned
to the clock (a 60 s window runs from :00 to :59); the function carries its
running totals in ``state`` from one invocation to the next and, when the window
has ended, is called once more with ``isFinalInvokeForWindow`` to publish them.
Lab 06's function writes one row per player, window and shard to
``GameScoresPerWindow``: each shard of a stream has its own windows (and its own
final invocation), so a row keyed by player and window alone would be replaced
by the next shard's. The range key ``WindowShard`` is the window start and the
shard id; ``window_rows`` sums a window's rows across shards.
These helpers create that table, start a burst of games at the beginning of a
window (so a lab knows which window its games fall in), wait with a bound for
the window's rows, compare them with totals computed from the games, and draw
them as bars (HTML and CSS: no plotting library needed).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamlab.aws import tables, waiting
from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tag_list
from streamlab.aws.waiting import poll_until
from streamlab.errors import LabError

WINDOW_TABLE = "GameScoresPerWindow"
WINDOW_FIELDS = ("TotalScore", "GamesPlayed")
WINDOW_KEY = "WindowShard"  # the range key: f"{window start} {shard id}"
MAX_WINDOW_SECONDS = 900  # TumblingWindowInSeconds' upper limit
_BAR_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1")


def window_table_name(lab: Lab) -> str:
    return lab.name(WINDOW_TABLE)


def window_row_key(window_start: str, shard_id: str) -> str:
    """The range key of one shard's row for a window: ``2015-10-08T17:00:00Z shardId-...``."""
    return f"{window_start} {shard_id}"


KEY_SCHEMA = [
    {"AttributeName": "PlayerName", "KeyType": "HASH"},
    {"AttributeName": WINDOW_KEY, "KeyType": "RANGE"},
]


def create_window_table(lab: Lab) -> str:
    """``GameScoresPerWindow``: hash key PlayerName, range key WindowShard; on-demand, tagged.

    A table an earlier version of the lab made with another key is replaced (it
    holds only results, which the lab writes again).
    """
    name = window_table_name(lab)
    client = lab.dynamodb
    tables.ensure_not_deleting(lab, name)
    try:
        existing = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        existing = None
    if existing is not None and existing.get("KeySchema") != KEY_SCHEMA:
        client.delete_table(TableName=name)
        tables.wait_until_gone(lab, name)
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "PlayerName", "AttributeType": "S"},
                {"AttributeName": WINDOW_KEY, "AttributeType": "S"},
            ],
            KeySchema=KEY_SCHEMA,
            BillingMode="PAY_PER_REQUEST",
            Tags=prefix_tag_list(lab.prefix),
        )
    except client.exceptions.ResourceInUseException:
        pass  # it exists already: keep it
    tables.wait_until_active(lab, name)
    return name


def delete_window_rows(lab: Lab, starts: Sequence[str]) -> int:
    """Delete every shard's rows of the windows starting at ``starts``; return how many went."""
    name = window_table_name(lab)
    wanted = set(starts)
    deleted = 0
    for page in lab.dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        for item in page["Items"]:
            if item.get("WindowStart", {}).get("S") in wanted:
                lab.dynamodb.delete_item(
                    TableName=name,
                    Key={"PlayerName": item["PlayerName"], WINDOW_KEY: item[WINDOW_KEY]},
                )
                deleted += 1
    return deleted


# -- the clock ---------------------------------------------------------------------------


def _check_seconds(seconds: int) -> None:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not (1 <= seconds <= MAX_WINDOW_SECONDS)
    ):
        raise LabError(
            f"window seconds={seconds!r}: TumblingWindowInSeconds is a whole number from 1 to "
            f"{MAX_WINDOW_SECONDS}, e.g. 60."
        )


def window_start(epoch: float, seconds: int) -> float:
    """The start of the window holding ``epoch``, at a multiple of ``seconds`` since the epoch.

    That is where the local pollers start windows; AWS groups records by their write time
    and does not document where its windows start.
    """
    _check_seconds(seconds)
    return math.floor(epoch / seconds) * seconds


def iso_seconds(epoch: float) -> str:
    """A window bound as the event's ``window.start`` writes it: ``2015-10-08T17:00:00Z``."""
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for_next_window(
    seconds: int,
    *,
    margin: float = 0.05,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> str:
    """Sleep until just after the next window begins; return its start as in the event.

    Writing a burst right then puts all of it in one window (a burst takes far
    less than a window), so a lab can say in advance which window it will see.
    The wait is at most ``seconds + margin``.
    """
    now = clock()
    start = window_start(now, seconds) + seconds
    pause = max(0.0, start + margin - now)
    if pause > waiting.QUIET_SECONDS:  # a minute's window: say why the cell is quiet
        say(f"waiting {pause:.0f} s for the next {seconds}-second window to begin")
    sleep(pause)
    return iso_seconds(start)


# -- the results -------------------------------------------------------------------------


def expected_window_totals(games: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Per-player TotalScore and GamesPlayed of typed game items (what one window must hold)."""
    totals: dict[str, dict[str, int]] = {}
    for game in games:
        row = totals.setdefault(game["PlayerName"]["S"], {"TotalScore": 0, "GamesPlayed": 0})
        row["TotalScore"] += int(game["Score"]["N"])
        row["GamesPlayed"] += 1
    return totals


def window_rows(lab: Lab, starts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The results as plain rows, one per window and player, summed over the stream's shards,
    sorted by window then player (only ``starts`` if given). ``Shards`` says how many
    shards' rows each sum holds."""
    name = window_table_name(lab)
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for page in lab.dynamodb.get_paginator("scan").paginate(
            TableName=name, ConsistentRead=True
        ):
            for item in page["Items"]:
                start = item.get("WindowStart", {}).get("S") or item[WINDOW_KEY]["S"].split()[0]
                player = item["PlayerName"]["S"]
                row = sums.setdefault(
                    (start, player),
                    {"WindowStart": start, "PlayerName": player, "Shards": 0,
                     **dict.fromkeys(WINDOW_FIELDS, 0)},
                )
                row["Shards"] += 1
                for name_ in WINDOW_FIELDS:
                    row[name_] += int(item[name_]["N"]) if name_ in item else 0
    except lab.dynamodb.exceptions.ResourceNotFoundException:
        raise LabError(
            f"Table {name} does not exist: run create_window_table(lab) first."
        ) from None
    rows = list(sums.values())
    if starts is not None:
        wanted = set(starts)
        rows = [row for row in rows if row["WindowStart"] in wanted]
    rows.sort(key=lambda row: (row["WindowStart"], row["PlayerName"]))
    return rows


@dataclass(repr=False)
class WindowResult:
    """The rows the function wrote for some windows, against totals computed from the games."""

    expected: dict[str, dict[str, dict[str, int]]]  # window start -> player -> totals
    rows: list[dict[str, Any]] = field(default_factory=list)

    def actual(self) -> dict[str, dict[str, dict[str, int]]]:
        found: dict[str, dict[str, dict[str, int]]] = {}
        for row in self.rows:
            found.setdefault(row["WindowStart"], {})[row["PlayerName"]] = {
                name: row[name] for name in WINDOW_FIELDS
            }
        return found

    def differences(self) -> list[str]:
        actual = self.actual()
        lines = []
        for index, start in enumerate(sorted(self.expected), 1):
            want, got = self.expected[start], actual.get(start, {})
            if not got:
                lines.append(f"window {index}: no rows yet")
                continue
            for player in sorted(set(want) | set(got)):
                if want.get(player) != got.get(player):
                    lines.append(
                        f"window {index}, {player}: {got.get(player)}, expected {want.get(player)}"
                    )
        return lines

    @property
    def ok(self) -> bool:
        return not self.differences()

    def __repr__(self) -> str:
        if self.ok:
            players = sum(len(players) for players in self.expected.values())
            return (
                f"PASS: {len(self.expected)} window(s), {players} player totals, each equal to "
                "the sum of that window's games."
            )
        return "\n".join(["FAIL:", *("  " + line for line in self.differences()[:10])])


def wait_for_windows(
    lab: Lab,
    expected: Mapping[str, Mapping[str, Mapping[str, int]]],
    *,
    timeout: float = 30.0,
    interval: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WindowResult:
    """Poll the results table until the windows in ``expected`` hold those totals, or time out.

    A window's rows appear only after it ends (plus the final invocation), so
    waiting is part of the lesson; the wait is bounded and the last result is
    returned either way, so a failure shows what is missing.
    """
    wanted = {
        start: {p: dict(t) for p, t in players.items()} for start, players in expected.items()
    }
    return poll_until(
        lambda: WindowResult(wanted, window_rows(lab, list(wanted))),
        lambda result: result.ok,
        what=f"the totals of {len(wanted)} window(s)",
        limit=timeout,
        interval=interval,
        clock=clock,
        sleep=sleep,
    )


# -- the chart ---------------------------------------------------------------------------


class WindowChart:
    """Scores per player per window as horizontal bars; HTML in JupyterLab, text elsewhere."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], value: str = "TotalScore") -> None:
        if value not in WINDOW_FIELDS:
            raise LabError(f"value={value!r}: chart one of {', '.join(WINDOW_FIELDS)}.")
        self.value = value
        self.windows: dict[str, list[tuple[str, int]]] = {}
        for row in sorted(rows, key=lambda r: (r["WindowStart"], r["PlayerName"])):
            self.windows.setdefault(row["WindowStart"], []).append(
                (row["PlayerName"], int(row[value]))
            )
        players = sorted({player for bars in self.windows.values() for player, _ in bars})
        self.colours = {p: _BAR_COLOURS[i % len(_BAR_COLOURS)] for i, p in enumerate(players)}
        self.largest = max((v for bars in self.windows.values() for _, v in bars), default=0)

    def _width(self, value: int, full: float) -> float:
        return 0.0 if self.largest <= 0 else full * value / self.largest

    def __repr__(self) -> str:
        if not self.windows:
            return "(no windows yet)"
        lines = []
        for start, bars in self.windows.items():
            lines.append(f"window starting {start}")
            for player, value in bars:
                bar = "#" * round(self._width(value, 40))
                lines.append(f"  {player:<8} {bar} {value}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.windows:
            return "<p><em>no windows yet</em></p>"
        parts = [f"<div style='font-family:sans-serif;font-size:13px'><b>{self.value}</b>"]
        for start, bars in self.windows.items():
            parts.append(
                f"<div style='margin:6px 0 2px'>window starting {html.escape(start)}</div>"
            )
            for player, value in bars:
                width = self._width(value, 300)
                parts.append(
                    "<div style='display:flex;align-items:center;gap:6px;height:18px'>"
                    f"<span style='width:60px'>{html.escape(player)}</span>"
                    f"<span style='display:inline-block;height:14px;width:{width:.0f}px;"
                    f"background:{self.colours[player]}'></span>"
                    f"<span>{value}</span></div>"
                )
        parts.append("</div>")
        return "".join(parts)
