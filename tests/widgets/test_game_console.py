"""streamlab.widgets.game_console, driven through its buttons against the emulator."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from streamlab.apps import game
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.widgets import game_console
from streamlab.widgets.game_console import GameConsole


@pytest.fixture
def game_lab(emulator: str) -> Lab:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )


def _games(lab: Lab) -> list[dict[str, Any]]:
    return lab.dynamodb.scan(TableName=game.scores_table_name(lab))["Items"]


def test_submit_button_writes_the_chosen_player_and_score(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    console = GameConsole(game_lab)
    console.player.value = "Bob"
    console.score.value = 888
    console.submit_button.click()
    [item] = _games(game_lab)
    assert item["PlayerName"] == {"S": "Bob"} and item["Score"] == {"N": "888"}
    assert console.message == "Recorded a game: Bob scored 888."
    console.player.value = "  Newcomer "  # a name not in the list is welcome, trimmed
    console.submit_button.click()
    assert {i["PlayerName"]["S"] for i in _games(game_lab)} == {"Bob", "Newcomer"}


def test_an_empty_player_is_refused_in_one_line_and_nothing_is_written(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    console = GameConsole(game_lab)
    console.player.value = "   "
    console.submit_button.click()
    assert console.message.startswith("player=''")
    assert "\n" not in console.message
    assert _games(game_lab) == []


def test_simulate_button_plays_n_games_and_fills_the_progress_bar(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    console = GameConsole(game_lab, players=["Ann", "Ben"], games=60, seed=4)
    moves: list[int] = []
    console.progress.observe(lambda change: moves.append(change["new"]), names="value")
    console.simulate_button.click()
    assert moves == [25, 50, 60]
    assert (console.progress.value, console.progress.max) == (60, 60)
    games = _games(game_lab)
    assert len(games) == 60 and {g["PlayerName"]["S"] for g in games} == {"Ann", "Ben"}
    assert console.message == "Played 60 games for 2 players."
    assert not console.submit_button.disabled and not console.simulate_button.disabled
    assert len(console.simulate(40) or []) == 40
    assert len(_games(game_lab)) == 100


def test_missing_tables_show_one_clear_line_in_the_console(game_lab: Lab) -> None:
    console = GameConsole(game_lab)
    console.submit_button.click()
    assert "GameScoreRecords does not exist yet" in console.message
    assert console.simulate(3) is None
    assert "does not exist yet" in console.message
    assert not console.simulate_button.disabled  # buttons come back after a failure


def test_show_is_the_widget_live_and_a_snapshot_in_test_mode(
    game_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(game_console, "display", seen.append)
    console = GameConsole(game_lab, players=["Alice", "Bob"])
    monkeypatch.delenv("LAB_TEST_MODE", raising=False)
    console.show()
    monkeypatch.setenv("LAB_TEST_MODE", "1")
    console.show()
    assert seen[0] is console.widget
    assert seen[1]._repr_mimebundle_()["text/plain"] == (
        "Game console: players Alice, Bob; scores 0-1000; 0 game(s) submitted, 0 simulated."
    )
