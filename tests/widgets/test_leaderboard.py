"""streamlab.widgets.leaderboard, driven programmatically against the emulator."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from streamlab.apps import game
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.widgets import background, leaderboard
from streamlab.widgets.leaderboard import Leaderboard, render_html, render_text


@pytest.fixture
def game_lab(emulator: str) -> Lab:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the widget displays, with the table's content at the moment of display."""
    seen: list[Any] = []

    def fake_display(obj: Any) -> None:
        seen.append((obj, getattr(getattr(obj, "children", [None])[0], "value", None)))

    monkeypatch.setattr(background, "display", fake_display)
    return seen


def _totals(lab: Lab, player: str, total: int, games: int = 1, best: int | None = None) -> None:
    lab.dynamodb.put_item(
        TableName=game.totals_table_name(lab),
        Item={
            "PlayerName": {"S": player},
            "TotalScore": {"N": str(total)},
            "GamesPlayed": {"N": str(games)},
            "BestScore": {"N": str(total if best is None else best)},
        },
    )


def test_refresh_renders_rows_sorted_with_bars(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    _totals(game_lab, "Bob", 888)
    _totals(game_lab, "Alice", 1099, 2, 999)
    board = Leaderboard(game_lab)
    assert board.refresh() is True
    value = board.table.value
    assert value.index('data-player="Alice"') < value.index('data-player="Bob"')
    assert 'data-total="1099"' in value and "width:100.0%" in value
    assert board.status.value == "2 player(s), 3 game(s)"
    assert board.refresh() is False  # nothing changed: the widget is left alone
    _totals(game_lab, "Bob", 2000)
    assert board.refresh() is True
    assert board.table.value.index('data-player="Bob"') < board.table.value.index("Alice")


def test_player_names_are_escaped(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    _totals(game_lab, "<img src=x onerror=alert(1)>", 5)
    board = Leaderboard(game_lab)
    board.refresh()
    assert "<img" not in board.table.value and "&lt;img" in board.table.value


def test_limit_shows_the_top_rows_but_counts_everyone(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    for index, player in enumerate(["A", "B", "C"]):
        _totals(game_lab, player, 10 * (index + 1))
    board = Leaderboard(game_lab, limit=2)
    board.refresh()
    assert [row["PlayerName"] for row in board.rows or []] == ["C", "B"]
    assert board.status.value.startswith("3 player(s)")


def test_a_missing_table_is_one_clear_line_not_a_traceback(game_lab: Lab) -> None:
    board = Leaderboard(game_lab)
    assert board.refresh() is False
    assert "GameScoresByUser does not exist yet" in board.status.value
    assert "create_game_tables(lab)" in board.status.value
    assert "Traceback" not in board.status.value
    assert "does not exist yet" in board.snapshot().text
    game.create_game_tables(game_lab)
    _totals(game_lab, "Alice", 1)
    assert board.refresh() is True and board.error is None
    assert board.status.value == "1 player(s), 1 game(s)"


def test_live_show_displays_first_then_refreshes_in_the_background(
    game_lab: Lab, shown: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAB_TEST_MODE", raising=False)
    game.create_game_tables(game_lab)
    _totals(game_lab, "Alice", 10)
    board = Leaderboard(game_lab, interval=0.02)
    try:
        board.show()
        assert shown[0][0] is board.widget
        assert "loading" in shown[0][1]  # displayed before any data was put in it
        assert 'data-player="Alice"' in board.table.value
        assert board.running
        _totals(game_lab, "Zed", 50)
        deadline = time.monotonic() + 20
        while 'data-player="Zed"' not in board.table.value and time.monotonic() < deadline:
            time.sleep(0.02)
        assert 'data-player="Zed"' in board.table.value  # the thread picked up the change
    finally:
        board.stop()
    assert not board.running


def test_test_mode_runs_a_bounded_joined_loop_and_shows_a_static_snapshot(
    game_lab: Lab, shown: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_TEST_MODE", "1")
    game.create_game_tables(game_lab)
    _totals(game_lab, "Alice", 1099, 2, 999)
    _totals(game_lab, "Bob", 888)
    board = Leaderboard(game_lab, test_steps=3).show()
    assert not board.running and board.loop.steps == 3
    [(snapshot, _)] = shown
    assert isinstance(snapshot, leaderboard.Snapshot)
    bundle = snapshot._repr_mimebundle_()
    assert bundle["text/plain"] == (
        "Leaderboard\n"
        " #  Player    Total  Games   Best\n"
        " 1  Alice      1099      2    999\n"
        " 2  Bob         888      1    888"
    )
    assert 'data-player="Bob"' in bundle["text/html"]


def test_renderers_say_so_when_there_are_no_scores() -> None:
    assert "No scores yet" in render_text([])
    assert "No scores yet" in render_html([])
