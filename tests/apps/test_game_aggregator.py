"""lambda_sources/game_aggregator.py, the reference aggregator, run in-process on fabricated
DynamoDB Streams events against the emulator (the way the Lambda runtime would call it)."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from types import ModuleType
from typing import Any

import pytest

from streamlab.apps import game
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config

SOURCE = game.AGGREGATOR_SOURCE


@pytest.fixture
def game_lab(emulator: str) -> Lab:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    lab = connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )
    game.create_game_tables(lab)
    return lab


@pytest.fixture
def aggregator(game_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The handler module loaded as Lambda would: boto3 finds the emulator through the
    environment (AWS_ENDPOINT_URL and dummy credentials), never through our helpers."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", game_lab.endpoint or "")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", game_lab.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", game_lab.region)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv(game.TOTALS_TABLE_ENV, game.totals_table_name(game_lab))
    spec = importlib.util.spec_from_file_location(f"game_aggregator_{uuid.uuid4().hex}", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict:
    image = new or old or {}
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1764237600.0,
        "Keys": {"RecordID": image["RecordID"]},
        "SequenceNumber": str(uuid.uuid4().int)[:21],
        "SizeBytes": 80,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/GameScoreRecords/"
        "stream/2026-11-27T09:00:00.000",
    }


def _totals(lab: Lab) -> dict[str, dict[str, int]]:
    return {row.pop("PlayerName"): row for row in game.leaderboard(lab)}


def test_the_handler_uses_only_boto3_and_the_standard_library() -> None:
    imports = [
        line.split()[1].split(".")[0]
        for line in SOURCE.read_text().splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert "boto3" in imports
    for name in imports:
        assert name == "boto3" or name in sys.stdlib_module_names, name


def test_inserts_add_totals_games_and_keep_the_best_score(
    game_lab: Lab, aggregator: ModuleType
) -> None:
    alice1 = game.game_item("Alice", 999, record_id="1")
    bob = game.game_item("Bob", 888, record_id="2")
    alice2 = game.game_item("Alice", 100, record_id="3")
    answer = aggregator.lambda_handler(
        {"Records": [_record("INSERT", alice1), _record("INSERT", bob), _record("INSERT", alice2)]},
        None,
    )
    assert answer == {"added": 3, "players": 2}
    assert _totals(game_lab) == {
        "Alice": {"TotalScore": 1099, "GamesPlayed": 2, "BestScore": 999},
        "Bob": {"TotalScore": 888, "GamesPlayed": 1, "BestScore": 888},
    }
    alice3 = game.game_item("Alice", 1000, record_id="4")
    aggregator.lambda_handler({"Records": [_record("INSERT", alice3)]}, None)
    assert _totals(game_lab)["Alice"] == {"TotalScore": 2099, "GamesPlayed": 3, "BestScore": 1000}
    lower = game.game_item("Alice", 5, record_id="5")
    aggregator.lambda_handler({"Records": [_record("INSERT", lower)]}, None)
    assert _totals(game_lab)["Alice"] == {"TotalScore": 2104, "GamesPlayed": 4, "BestScore": 1000}


def test_modify_and_remove_records_leave_the_totals_alone(
    game_lab: Lab, aggregator: ModuleType
) -> None:
    old = game.game_item("Carol", 10, record_id="9")
    new = game.game_item("Carol", 20, record_id="9")
    answer = aggregator.lambda_handler(
        {"Records": [_record("MODIFY", new, old), _record("REMOVE", None, old)]}, None
    )
    assert answer == {"added": 0, "players": 0}
    assert _totals(game_lab) == {}


def test_totals_written_by_the_handler_pass_the_recompute_check(
    game_lab: Lab, aggregator: ModuleType
) -> None:
    items = game.simulate_games(game_lab, 120, seed=11)
    for start in range(0, len(items), 50):  # in batches, as a poller delivers them
        batch = [_record("INSERT", item) for item in items[start : start + 50]]
        aggregator.lambda_handler({"Records": batch}, None)
    comparison = game.recompute_totals_by_scan(game_lab)
    assert comparison.ok, str(comparison)
    assert comparison.games == 120


def test_a_missed_record_is_caught_by_the_recompute_check(
    game_lab: Lab, aggregator: ModuleType
) -> None:
    items = game.simulate_games(game_lab, 10, seed=5)
    aggregator.lambda_handler({"Records": [_record("INSERT", item) for item in items[1:]]}, None)
    comparison = game.recompute_totals_by_scan(game_lab)
    assert not comparison.ok
    assert items[0]["PlayerName"]["S"] in {m[0] for m in comparison.mismatched} | set(
        comparison.missing
    )
