"""Lab 04's data path on the local emulator: how long a burst of games and the final check take.

Prints, from one run on a private emulator: 500 games written one PutItem each
(the baseline: what a learner's loop does) versus ``simulate_games`` (BatchWriteItem,
25 a call); the reference aggregator's cost per game called in-process (two
UpdateItems each); and ``recompute_totals_by_scan`` and one leaderboard read over
the result. Run: ``.venv/bin/python benchmarks/bench_game.py [GAMES]``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from streamlab.apps import game
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.local import control
from streamlab.local.control import free_port
from streamlab.local.runtime.environment import function_credentials


def _timed(label: str, games: int, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"{label:<48} {seconds * 1000:8.0f} ms  {games / seconds:8.0f} games/s")
    return seconds


def main(games: int = 500) -> None:
    os.environ["LAB_STATE_DIR"] = tempfile.mkdtemp(prefix="streamlab-bench-")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    control.start(port)
    try:
        lab = connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": endpoint, "LAB_PREFIX": "bench-"})
        )
        game.create_game_tables(lab)
        players = [f"Player{n}" for n in range(20)]
        baseline = _timed(
            f"baseline: {games} games, one PutItem each",
            games,
            lambda: [game.record_game(lab, players[n % 20], n % 1000) for n in range(games)],
        )
        batched = _timed(
            f"simulate_games({games}) (BatchWriteItem x25)",
            games,
            lambda: game.simulate_games(lab, games, players=players, seed=1),
        )
        print(f"{'  speed-up over the baseline':<48} {baseline / batched:8.1f} x")

        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            **function_credentials(),
            "AWS_DEFAULT_REGION": lab.region,
            game.TOTALS_TABLE_ENV: game.totals_table_name(lab),
        }.items():
            os.environ[name] = value
        spec = importlib.util.spec_from_file_location("game_aggregator", game.AGGREGATOR_SOURCE)
        assert spec is not None and spec.loader is not None
        aggregator = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(aggregator)
        records = [
            {"eventName": "INSERT", "dynamodb": {"NewImage": item}, "eventID": uuid.uuid4().hex}
            for item in _all_games(lab)
        ]
        _timed(
            f"aggregator handler, {len(records)} INSERTs in batches of 100",
            len(records),
            lambda: [
                _quietly(aggregator.lambda_handler, {"Records": records[i : i + 100]})
                for i in range(0, len(records), 100)
            ],
        )
        comparisons = []
        _timed(
            f"recompute_totals_by_scan over {len(records)} games",
            len(records),
            lambda: comparisons.append(game.recompute_totals_by_scan(lab)),
        )
        print(f"  {comparisons[0].summary()}")
        start = time.perf_counter()
        rows = game.leaderboard(lab)
        print(
            f"{'one leaderboard read (' + str(len(rows)) + ' players)':<48} "
            f"{(time.perf_counter() - start) * 1000:8.1f} ms"
        )
    finally:
        control.stop(port)


def _quietly(handler: Callable[[dict, None], object], event: dict) -> object:
    """Call the handler with its log line (meant for CloudWatch) kept off the report."""
    with contextlib.redirect_stdout(io.StringIO()):
        return handler(event, None)


def _all_games(lab: Lab) -> list[dict[str, Any]]:
    paginator = lab.dynamodb.get_paginator("scan")
    return [
        item
        for page in paginator.paginate(TableName=game.scores_table_name(lab))
        for item in page["Items"]
    ]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
