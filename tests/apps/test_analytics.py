"""streamlab.apps.analytics: the window results table, the window clock, the wait and the chart."""

from __future__ import annotations

import uuid

import pytest

from streamlab.apps import analytics
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.errors import LabError


@pytest.fixture
def win_lab(emulator: str) -> Lab:
    prefix = f"w{uuid.uuid4().hex[:8]}-"
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )


def _game(player: str, score: int) -> dict:
    return {"PlayerName": {"S": player}, "Score": {"N": str(score)}}


def _row(
    lab: Lab, player: str, start: str, total: int, games: int, shard: str = "shardId-1"
) -> None:
    lab.dynamodb.put_item(
        TableName=analytics.window_table_name(lab),
        Item={
            "PlayerName": {"S": player},
            analytics.WINDOW_KEY: {"S": analytics.window_row_key(start, shard)},
            "WindowStart": {"S": start},
            "ShardId": {"S": shard},
            "TotalScore": {"N": str(total)},
            "GamesPlayed": {"N": str(games)},
        },
    )


def test_windows_are_aligned_to_the_clock() -> None:
    assert analytics.window_start(125.9, 60) == 120
    assert analytics.window_start(120.0, 60) == 120
    assert analytics.iso_seconds(1444323600) == "2015-10-08T17:00:00Z"


@pytest.mark.parametrize("seconds", [0, 901, 2.5, True])
def test_window_lengths_outside_lambdas_range_are_refused(seconds: object) -> None:
    with pytest.raises(LabError, match="TumblingWindowInSeconds is a whole number from 1 to 900"):
        analytics.window_start(10.0, seconds)  # type: ignore[arg-type]


def test_wait_for_next_window_sleeps_until_just_after_the_next_start() -> None:
    slept: list[float] = []
    said: list[str] = []
    start = analytics.wait_for_next_window(
        60, margin=0.05, clock=lambda: 1444323610.0, sleep=slept.append, say=said.append
    )
    assert start == "2015-10-08T17:01:00Z"
    assert slept == [pytest.approx(50.05)]
    assert said == ["waiting 50 s for the next 60-second window to begin"]


def test_a_short_wait_for_the_next_window_stays_quiet() -> None:
    said: list[str] = []
    analytics.wait_for_next_window(
        2, margin=0.05, clock=lambda: 1444323610.5, sleep=lambda _s: None, say=said.append
    )
    assert said == []


def test_expected_window_totals_sum_each_players_games() -> None:
    totals = analytics.expected_window_totals(
        [_game("Alice", 10), _game("Bob", 5), _game("Alice", 1)]
    )
    assert totals == {
        "Alice": {"TotalScore": 11, "GamesPlayed": 2},
        "Bob": {"TotalScore": 5, "GamesPlayed": 1},
    }


def test_window_rows_are_sorted_and_filtered_by_start(win_lab: Lab) -> None:
    analytics.create_window_table(win_lab)
    analytics.create_window_table(win_lab)  # idempotent
    _row(win_lab, "Bob", "2015-10-08T17:00:00Z", 5, 1)
    _row(win_lab, "Alice", "2015-10-08T17:00:00Z", 11, 2)
    _row(win_lab, "Alice", "2015-10-08T16:59:00Z", 3, 1)
    rows = analytics.window_rows(win_lab)
    assert [(r["WindowStart"][-9:], r["PlayerName"]) for r in rows] == [
        ("16:59:00Z", "Alice"),
        ("17:00:00Z", "Alice"),
        ("17:00:00Z", "Bob"),
    ]
    only = analytics.window_rows(win_lab, ["2015-10-08T17:00:00Z"])
    assert [r["PlayerName"] for r in only] == ["Alice", "Bob"]
    assert only[0] == {
        "WindowStart": "2015-10-08T17:00:00Z",
        "PlayerName": "Alice",
        "Shards": 1,
        "TotalScore": 11,
        "GamesPlayed": 2,
    }


def test_window_rows_sum_a_windows_rows_across_shards(win_lab: Lab) -> None:
    analytics.create_window_table(win_lab)
    start = "2015-10-08T17:00:00Z"
    _row(win_lab, "Alice", start, 11, 2, shard="shardId-a")
    _row(win_lab, "Alice", start, 4, 1, shard="shardId-b")
    (row,) = analytics.window_rows(win_lab, [start])
    assert (row["TotalScore"], row["GamesPlayed"], row["Shards"]) == (15, 3, 2)
    assert analytics.delete_window_rows(win_lab, [start]) == 2
    assert analytics.window_rows(win_lab) == []


def test_a_window_table_with_the_old_key_is_replaced(win_lab: Lab) -> None:
    name = analytics.window_table_name(win_lab)
    win_lab.dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "PlayerName", "AttributeType": "S"},
            {"AttributeName": "WindowStart", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "PlayerName", "KeyType": "HASH"},
            {"AttributeName": "WindowStart", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    analytics.create_window_table(win_lab)
    schema = win_lab.dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]
    assert schema == analytics.KEY_SCHEMA


def test_window_rows_without_the_table_say_what_to_run(win_lab: Lab) -> None:
    with pytest.raises(LabError, match="create_window_table"):
        analytics.window_rows(win_lab)


def test_wait_for_windows_passes_when_the_rows_equal_the_games(win_lab: Lab) -> None:
    analytics.create_window_table(win_lab)
    start = "2015-10-08T17:00:00Z"
    _row(win_lab, "Alice", start, 11, 2)
    expected = {start: analytics.expected_window_totals([_game("Alice", 10), _game("Alice", 1)])}
    result = analytics.wait_for_windows(win_lab, expected, timeout=0)
    assert result.ok
    assert repr(result).startswith("PASS: 1 window(s), 1 player totals")


def test_wait_for_windows_reports_missing_and_wrong_windows_after_its_bound(win_lab: Lab) -> None:
    analytics.create_window_table(win_lab)
    _row(win_lab, "Alice", "2015-10-08T17:00:00Z", 12, 2)
    expected = {
        "2015-10-08T17:00:00Z": {"Alice": {"TotalScore": 11, "GamesPlayed": 2}},
        "2015-10-08T17:01:00Z": {"Bob": {"TotalScore": 5, "GamesPlayed": 1}},
    }
    ticks = iter([0.0, 0.5, 1.0, 1.5, 2.0])
    sleeps: list[float] = []
    result = analytics.wait_for_windows(
        win_lab, expected, timeout=1.0, interval=0.5, clock=lambda: next(ticks), sleep=sleeps.append
    )
    assert not result.ok
    assert sleeps == [0.5]  # looked at 0.5 s, slept, looked at 1.0 s: the bound
    assert result.differences() == [
        "window 1, Alice: {'TotalScore': 12, 'GamesPlayed': 2}, expected "
        "{'TotalScore': 11, 'GamesPlayed': 2}",
        "window 2: no rows yet",
    ]


def test_the_chart_scales_bars_to_the_largest_value_in_text_and_html() -> None:
    rows = [
        {"WindowStart": "W1", "PlayerName": "Alice", "TotalScore": 100, "GamesPlayed": 1},
        {"WindowStart": "W1", "PlayerName": "Bob", "TotalScore": 50, "GamesPlayed": 1},
        {"WindowStart": "W2", "PlayerName": "Alice", "TotalScore": 0, "GamesPlayed": 0},
    ]
    chart = analytics.WindowChart(rows)
    text = repr(chart).splitlines()
    assert text[0] == "window starting W1"
    assert text[1] == "  Alice    " + "#" * 40 + " 100"
    assert text[2] == "  Bob      " + "#" * 20 + " 50"
    assert text[4] == "  Alice     0"
    html = chart._repr_html_()
    assert "width:300px" in html and "width:150px" in html and "<b>TotalScore</b>" in html
    games = analytics.WindowChart(rows, value="GamesPlayed")
    assert repr(games).splitlines()[2].endswith("# 1")


def test_an_empty_chart_and_an_unknown_value_are_handled() -> None:
    assert repr(analytics.WindowChart([])) == "(no windows yet)"
    assert "no windows yet" in analytics.WindowChart([])._repr_html_()
    with pytest.raises(LabError, match="chart one of TotalScore, GamesPlayed"):
        analytics.WindowChart([], value="Score")
