"""streamlab.apps.game: the lab 04 tables, games, leaderboard and the recompute-by-scan check."""

from __future__ import annotations

import uuid

import pytest

from streamlab.apps import game
from streamlab.aws.session import Lab, connect
from streamlab.aws.tags import PREFIX_TAG
from streamlab.config import load_config
from streamlab.errors import LabError


@pytest.fixture
def game_lab(emulator: str) -> Lab:
    """A lab with a prefix of its own, so each test sees only its own tables."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )


def _put_totals(lab: Lab, player: str, total: int, games: int, best: int) -> None:
    lab.dynamodb.put_item(
        TableName=game.totals_table_name(lab),
        Item={
            "PlayerName": {"S": player},
            "TotalScore": {"N": str(total)},
            "GamesPlayed": {"N": str(games)},
            "BestScore": {"N": str(best)},
        },
    )


def _write_correct_totals(lab: Lab) -> None:
    games = lab.dynamodb.scan(TableName=game.scores_table_name(lab))["Items"]
    for player, row in game.expected_totals(games).items():
        _put_totals(lab, player, row["TotalScore"], row["GamesPlayed"], row["BestScore"])


def test_create_game_tables_is_idempotent_on_demand_tagged_and_streamed(game_lab: Lab) -> None:
    first = game.create_game_tables(game_lab)
    second = game.create_game_tables(game_lab)
    assert first == second
    assert first.scores == f"{game_lab.prefix}GameScoreRecords"
    assert first.totals == f"{game_lab.prefix}GameScoresByUser"
    scores = game_lab.dynamodb.describe_table(TableName=first.scores)["Table"]
    totals = game_lab.dynamodb.describe_table(TableName=first.totals)["Table"]
    assert scores["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert scores["LatestStreamArn"] == first.stream_arn
    assert scores["KeySchema"] == [{"AttributeName": "RecordID", "KeyType": "HASH"}]
    assert totals["KeySchema"] == [{"AttributeName": "PlayerName", "KeyType": "HASH"}]
    for table in (scores, totals):
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        tags = game_lab.dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
        assert {"Key": PREFIX_TAG, "Value": game_lab.prefix} in tags


def test_create_game_tables_adds_a_stream_to_an_existing_scores_table(game_lab: Lab) -> None:
    game_lab.dynamodb.create_table(
        TableName=game.scores_table_name(game_lab),
        AttributeDefinitions=[{"AttributeName": "RecordID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "RecordID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    tables = game.create_game_tables(game_lab)
    spec = game_lab.dynamodb.describe_table(TableName=tables.scores)["Table"]["StreamSpecification"]
    assert spec["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert tables.stream_arn


def test_record_game_puts_one_item_with_the_seed_attributes(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    item = game.record_game(game_lab, "Alice", 999, record_id="1")
    stored = game_lab.dynamodb.get_item(
        TableName=game.scores_table_name(game_lab), Key={"RecordID": {"S": "1"}}
    )["Item"]
    assert stored == item
    assert stored["PlayerName"] == {"S": "Alice"} and stored["Score"] == {"N": "999"}
    assert stored["GameTime"]["S"].endswith("Z")


@pytest.mark.parametrize(
    ("player", "score"), [("", 10), ("Alice", -1), ("Alice", 1.5), ("Alice", True), (None, 3)]
)
def test_record_game_rejects_bad_input_with_a_lab_error(
    game_lab: Lab, player: object, score: object
) -> None:
    with pytest.raises(LabError) as info:
        game.record_game(game_lab, player, score)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_missing_tables_give_a_one_line_message_naming_the_setup_call(game_lab: Lab) -> None:
    with pytest.raises(game.GameTableMissing, match=r"create_game_tables\(lab\)"):
        game.record_game(game_lab, "Alice", 1)
    with pytest.raises(game.GameTableMissing, match="GameScoresByUser does not exist"):
        game.leaderboard(game_lab)
    with pytest.raises(game.GameTableMissing, match="GameScoreRecords does not exist"):
        game.recompute_totals_by_scan(game_lab)
    with pytest.raises(game.GameTableMissing):
        game.simulate_games(game_lab, 3, seed=1)


def test_simulate_games_is_deterministic_for_a_seed_but_plays_new_games(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    calls: list[tuple[int, int]] = []
    first = game.simulate_games(game_lab, 60, seed=7, progress=lambda d, t: calls.append((d, t)))
    second = game.simulate_games(game_lab, 60, seed=7, players=game.DEFAULT_PLAYERS)
    assert calls == [(25, 60), (50, 60), (60, 60)]

    def plays(items: list[dict]) -> list[tuple[str, str]]:
        return [(i["PlayerName"]["S"], i["Score"]["N"]) for i in items]

    assert plays(first) == plays(second)
    assert len({p for p, _ in plays(first)}) > 1  # several players really play
    ids = {i["RecordID"]["S"] for i in first + second}
    assert len(ids) == 120
    stored = game_lab.dynamodb.scan(TableName=game.scores_table_name(game_lab))["Items"]
    assert len(stored) == 120
    different = game.simulate_games(game_lab, 60, seed=8)
    assert plays(different) != plays(first)


@pytest.mark.parametrize("count", [0, -3, 2.5, True])
def test_simulate_games_rejects_a_bad_count(game_lab: Lab, count: object) -> None:
    with pytest.raises(LabError, match="whole number"):
        game.simulate_games(game_lab, count)  # type: ignore[arg-type]


def test_simulate_games_rejects_empty_players(game_lab: Lab) -> None:
    with pytest.raises(LabError, match="players is empty"):
        game.simulate_games(game_lab, 3, players=[])


def test_leaderboard_sorts_by_total_then_name_and_honours_limit(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    _put_totals(game_lab, "Bob", 888, 1, 888)
    _put_totals(game_lab, "Carol", 1200, 3, 700)
    _put_totals(game_lab, "Alice", 888, 2, 600)
    rows = game.leaderboard(game_lab)
    assert [r["PlayerName"] for r in rows] == ["Carol", "Alice", "Bob"]
    assert rows[0] == {
        "PlayerName": "Carol",
        "TotalScore": 1200,
        "GamesPlayed": 3,
        "BestScore": 700,
    }
    assert [r["PlayerName"] for r in game.leaderboard(game_lab, limit=2)] == ["Carol", "Alice"]


def test_expected_totals_from_raw_games() -> None:
    items = [game.game_item("Alice", s) for s in (10, 30, 20)] + [game.game_item("Bob", 0)]
    assert game.expected_totals(items) == {
        "Alice": {"TotalScore": 60, "GamesPlayed": 3, "BestScore": 30},
        "Bob": {"TotalScore": 0, "GamesPlayed": 1, "BestScore": 0},
    }


def test_recompute_totals_by_scan_passes_when_totals_match_across_pages(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    game.simulate_games(game_lab, 40, seed=3)
    _write_correct_totals(game_lab)
    comparison = game.recompute_totals_by_scan(game_lab, page_size=7)
    assert comparison.ok, str(comparison)
    assert comparison.games == 40
    assert comparison.pages >= 6  # 40 items, 7 per page: the scan really followed the pages
    assert comparison.summary().startswith("PASS: ")
    assert str(comparison) == comparison.summary()


def test_recompute_totals_by_scan_reports_every_kind_of_difference(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    game.record_game(game_lab, "Alice", 100)
    game.record_game(game_lab, "Alice", 50)
    game.record_game(game_lab, "Bob", 70)
    game.record_game(game_lab, "Carol", 5)
    _put_totals(game_lab, "Alice", 150, 2, 50)  # BestScore wrong
    _put_totals(game_lab, "Bob", 70, 2, 70)  # GamesPlayed wrong
    _put_totals(game_lab, "Mallory", 1, 1, 1)  # no games at all; Carol has no row
    comparison = game.recompute_totals_by_scan(game_lab)
    assert not comparison.ok
    assert comparison.missing == ["Carol"]
    assert comparison.unexpected == ["Mallory"]
    assert sorted(comparison.mismatched) == [
        ("Alice", "BestScore", 100, 50),
        ("Bob", "GamesPlayed", 1, 2),
    ]
    text = str(comparison)
    assert text.splitlines()[0] == "FAIL: 4 of 4 players differ after 4 games:"
    assert "Alice: BestScore is 50, expected 100" in text
    assert "Carol: has games but no row in GameScoresByUser" in text
    assert comparison.summary().startswith("FAIL: ") and "\n" not in comparison.summary()


def test_wait_for_totals_returns_the_last_difference_when_time_runs_out(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    game.record_game(game_lab, "Alice", 10)
    late = game.wait_for_totals(game_lab, timeout=0)
    assert late.missing == ["Alice"]
    _put_totals(game_lab, "Alice", 10, 1, 10)
    assert game.wait_for_totals(game_lab, timeout=5).ok


def test_wait_for_totals_scans_the_games_once_while_it_waits(
    game_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting re-reads only the small aggregate; the games are scanned again only to confirm."""
    game.create_game_tables(game_lab)
    game.record_game(game_lab, "Alice", 10)
    scanned: list[str] = []
    real_scan = game._scan

    def counting_scan(lab: Lab, table: str, *args: object, **kwargs: object):  # noqa: ANN202
        scanned.append(table)
        return real_scan(lab, table, *args, **kwargs)

    monkeypatch.setattr(game, "_scan", counting_scan)
    looks = 0
    real_leaderboard = game.leaderboard

    def leaderboard_that_catches_up(lab: Lab, **kwargs: object) -> list:
        nonlocal looks
        looks += 1
        if looks == 4:  # the aggregator "catches up" after a few looks
            _put_totals(game_lab, "Alice", 10, 1, 10)
        return real_leaderboard(lab, **kwargs)

    monkeypatch.setattr(game, "leaderboard", leaderboard_that_catches_up)
    comparison = game.wait_for_totals(game_lab, timeout=30, interval=0.01)
    assert comparison.ok and comparison.games == 1
    assert looks >= 4
    assert scanned.count(game.scores_table_name(game_lab)) == 2  # the first, and to confirm


def test_wait_for_totals_rescans_when_games_arrive_while_it_waits(
    game_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    game.create_game_tables(game_lab)
    game.record_game(game_lab, "Alice", 10)
    _put_totals(game_lab, "Bob", 5, 1, 5)  # wrong until Bob's game (and Alice's row) arrive
    real_leaderboard = game.leaderboard
    looks = 0

    def leaderboard_with_a_late_game(lab: Lab, **kwargs: object) -> list:
        nonlocal looks
        looks += 1
        if looks == 2:  # Alice's row arrives; so does a new game of Bob's, with its row
            _put_totals(game_lab, "Alice", 10, 1, 10)
            game.record_game(game_lab, "Bob", 5)
        return real_leaderboard(lab, **kwargs)

    monkeypatch.setattr(game, "leaderboard", leaderboard_with_a_late_game)
    comparison = game.wait_for_totals(game_lab, timeout=30, interval=0.01)
    assert comparison.ok and comparison.games == 2


def test_delete_game_tables_removes_both_and_tolerates_absence(game_lab: Lab) -> None:
    tables = game.create_game_tables(game_lab)
    assert sorted(game.delete_game_tables(game_lab)) == sorted([tables.scores, tables.totals])
    assert game.delete_game_tables(game_lab) == []


def test_aggregator_source_is_shipped_text_with_the_handler() -> None:
    source = game.aggregator_source()
    compile(source, "game_aggregator.py", "exec")
    assert "def lambda_handler(event, context)" in source  # named like the learner's
    assert 'os.environ["GAME_SCORES_BY_USER_TABLE"]' in source
    assert game.TOTALS_TABLE_ENV == "GAME_SCORES_BY_USER_TABLE"


def test_check_totals_passes_with_one_line_after_enough_games(
    game_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    game.create_game_tables(game_lab)
    game.simulate_games(game_lab, 30, seed=2)
    _write_correct_totals(game_lab)
    comparison = game.check_totals(game_lab, min_games=30, timeout=0)
    assert comparison.ok
    assert capsys.readouterr().out == f"{comparison.summary()}\n"
    assert repr(comparison).startswith("PASS: 5 players' totals match 30 games")


def test_check_totals_asks_for_the_burst_first(game_lab: Lab) -> None:
    game.create_game_tables(game_lab)
    game.record_game(game_lab, "Alice", 1)
    with pytest.raises(LabError, match=r"Only 1 games .* at least 500: run the burst cell"):
        game.check_totals(game_lab, timeout=0)


@pytest.mark.parametrize(
    ("totals", "hint"),
    [
        (None, "is the function deployed and its event source mapping Enabled"),
        ((10, 2, 10), "counted twice"),
        ((10, 1, 3), "BestScore must only go up"),
        ((9, 1, 10), "ADDs each INSERT's Score"),
    ],
)
def test_check_totals_fails_with_a_hint_for_each_kind_of_mistake(
    game_lab: Lab, totals: tuple[int, int, int] | None, hint: str
) -> None:
    game.create_game_tables(game_lab)
    game.record_game(game_lab, "Alice", 10)
    if totals is not None:
        _put_totals(game_lab, "Alice", *totals)
    with pytest.raises(LabError) as info:
        game.check_totals(game_lab, min_games=1, timeout=0)
    assert hint in str(info.value) and "\n" not in str(info.value)


def test_rebuild_totals_repairs_an_aggregate_that_drifted(lab) -> None:
    from streamlab.apps import game

    game.create_game_tables(lab)
    games = game.simulate_games(lab, 30, seed=77)
    table = game.totals_table_name(lab)
    lab.dynamodb.put_item(
        TableName=table,
        Item={
            "PlayerName": {"S": "Ghost"},
            "TotalScore": {"N": "5"},
            "GamesPlayed": {"N": "1"},
            "BestScore": {"N": "5"},
        },
    )
    lab.dynamodb.delete_item(
        TableName=game.scores_table_name(lab), Key={"RecordID": games[0]["RecordID"]}
    )
    assert not game.recompute_totals_by_scan(lab).ok
    assert game.rebuild_totals(lab).ok


def test_start_afresh_empties_both_tables_and_stops_mappings_on_the_old_stream(lab) -> None:
    import json

    from streamlab.apps import game
    from streamlab.aws import functions, mappings

    game.create_game_tables(lab)
    game.simulate_games(lab, 5, seed=3)
    functions.deploy_function(
        lab,
        "afresh-reader",
        "def lambda_handler(event, context):\n    return None\n",
        streams=[game.SCORES_TABLE],
    )
    old = mappings.connect_stream(lab, game.SCORES_TABLE, "afresh-reader")
    tables = game.start_afresh(lab)
    assert lab.dynamodb.scan(TableName=tables.scores)["Count"] == 0
    assert lab.dynamodb.scan(TableName=tables.totals)["Count"] == 0
    remaining = lab.lambda_.list_event_source_mappings(FunctionName="afresh-reader")
    assert [m["UUID"] for m in remaining["EventSourceMappings"]] == [], json.dumps(old)
