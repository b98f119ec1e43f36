"""Lab 04's checks: aggregator, mapping, totals; PASS lines and one-line teaching failures."""

from __future__ import annotations

import pytest
from own_lab import lab_with_own_prefix

from streamlab.apps import game
from streamlab.aws import functions, mappings
from streamlab.aws.session import Lab
from streamlab.checks import exercise
from streamlab.checks import lab04 as checks
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone

AGGREGATOR = """import os

import boto3

dynamodb = boto3.client("dynamodb")
TOTALS_TABLE = os.environ["GAME_SCORES_BY_USER_TABLE"]


def lambda_handler(event, context):
    games = 0
    for record in event["Records"]:
        if record["eventName"] != "INSERT":  # SKIP
            continue
        image = record["dynamodb"]["NewImage"]
        key = {"PlayerName": image["PlayerName"]}
        dynamodb.update_item(
            TableName=TOTALS_TABLE, Key=key,
            UpdateExpression="ADD TotalScore :score, GamesPlayed :one",
            ExpressionAttributeValues={":score": image["Score"], ":one": {"N": "1"}},
        )
        try:
            dynamodb.update_item(
                TableName=TOTALS_TABLE, Key=key, UpdateExpression="SET BestScore = :score",
                ConditionExpression="attribute_not_exists(BestScore) OR BestScore < :score",
                ExpressionAttributeValues={":score": image["Score"]},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
        games += 1
    print(f"Added {games} game(s) from {len(event['Records'])} record(s)")
"""


@pytest.fixture
def app_lab(emulator: str) -> Lab:
    """A lab with a prefix of its own and the two game tables."""
    lab = lab_with_own_prefix(emulator)
    game.create_game_tables(lab)
    return lab


def _deploy(lab: Lab, code: str = AGGREGATOR, name: str = "agg") -> None:
    functions.deploy_function(
        lab, name, code, timeout=30, tables=["GameScoresByUser"], streams=["GameScoreRecords"]
    )


def _rows(lab: Lab) -> list[dict]:
    return game.leaderboard(lab)


def test_the_check_batch_is_what_lambda_delivers_and_its_expected_totals() -> None:
    assert checks.expected_check_totals() == {
        checks.CHECK_PLAYER: {"TotalScore": 2700, "GamesPlayed": 5, "BestScore": 900},
        checks.NEW_CHECK_PLAYER: {"TotalScore": 42, "GamesPlayed": 1, "BestScore": 42},
    }


def test_a_missing_function_fails_with_the_deploy_hint_or_not_done_after_a_stub(
    app_lab: Lab,
) -> None:
    with pytest.raises(CheckFailed, match=r"no function .*agg.* yet.*%%lambda_function"):
        checks.aggregator_counts_games(app_lab, "agg", exercise="9.1")
    ExerciseNotDone("9.1", "write the aggregator")
    with pytest.raises(ExerciseNotDone, match="9.1 is not done yet"):
        checks.aggregator_counts_games(app_lab, "agg", exercise="9.1")


def test_a_right_aggregator_passes_and_leaves_no_check_rows(
    app_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy(app_lab)
    checks.aggregator_counts_games(app_lab, "agg", exercise="9.1")
    out = capsys.readouterr().out
    assert out.startswith("PASS 9.1: ") and "TotalScore 1000 -> 2700" in out
    assert _rows(app_lab) == []  # the check players are gone again


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        (
            'if record["eventName"] != "INSERT":  # SKIP',
            "if False:",
            "REMOVE record has no NewImage",
        ),
        (
            'if record["eventName"] != "INSERT":  # SKIP',
            'if record["eventName"] == "REMOVE":',
            "only INSERT records are new games",
        ),
        (
            "ADD TotalScore :score, GamesPlayed :one",
            "SET TotalScore = :score ADD GamesPlayed :one",
            "SET would replace the earlier total",
        ),
        (
            'ConditionExpression="attribute_not_exists(BestScore) OR BestScore < :score",',
            "",
            "BestScore only goes up",
        ),
        (
            "except dynamodb.exceptions.ConditionalCheckFailedException:",
            "except KeyError:",
            "catch dynamodb.exceptions.ConditionalCheckFailedException",
        ),
        ('print(f"Added {games}', 'print(f"Counted {games}', "lacks 'Added 4 game(s)'"),
    ],
)
def test_each_aggregator_mistake_gets_its_own_hint(
    app_lab: Lab, old: str, new: str, hint: str
) -> None:
    assert old in AGGREGATOR
    _deploy(app_lab, AGGREGATOR.replace(old, new))
    with pytest.raises(CheckFailed) as info:
        checks.aggregator_counts_games(app_lab, "agg", exercise="9.1")
    assert hint in str(info.value) and "\n" not in str(info.value)
    assert _rows(app_lab) == []


def test_the_mapping_check_wants_one_enabled_mapping_from_trim_horizon(app_lab: Lab) -> None:
    _deploy(app_lab)
    with pytest.raises(CheckFailed, match="no event source mapping.*connect_stream"):
        checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2")
    scores, function = app_lab.name("GameScoreRecords"), app_lab.name("agg")
    latest = mappings.connect_stream(app_lab, scores, function, starting_position="LATEST")
    with pytest.raises(CheckFailed, match="starts at LATEST.*cannot be changed"):
        checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2")
    mappings.delete_mapping(app_lab, latest["UUID"])
    mapping = mappings.connect_stream(app_lab, scores, function, Enabled=False)
    with pytest.raises(CheckFailed, match="is Disabled: no games reach the function"):
        checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2")
    mappings.connect_stream(app_lab, scores, function, Enabled=True, BatchSize=50)
    with pytest.raises(CheckFailed, match="batches of up to 50 records; the exercise asks for 100"):
        checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2")
    checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2", batch_size=None)
    mappings.connect_stream(app_lab, scores, function, BatchSize=100)
    checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2")
    mappings.delete_mapping(app_lab, mapping["UUID"])


def _write_correct_totals(lab: Lab) -> None:
    for player, row in game.recompute_totals_by_scan(lab).expected.items():
        lab.dynamodb.put_item(
            TableName=game.totals_table_name(lab),
            Item={"PlayerName": {"S": player}, **{k: {"N": str(v)} for k, v in row.items()}},
        )


def _recompute(lab: Lab, *, follow_pages: bool = True):  # noqa: ANN202 - a learner's function
    def recompute_totals(page_size: int) -> dict:
        request = {"TableName": game.scores_table_name(lab), "Limit": page_size}
        items: list[dict] = []
        while True:
            page = lab.dynamodb.scan(**request)
            items.extend(page["Items"])
            if not follow_pages or "LastEvaluatedKey" not in page:
                return game.expected_totals(items)
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return recompute_totals


def test_totals_proved_passes_when_scan_and_aggregate_agree(
    app_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    game.simulate_games(app_lab, 30, seed=1)
    _write_correct_totals(app_lab)
    checks.totals_proved(app_lab, _recompute(app_lab), exercise="9.3", min_games=30, page_size=7)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS: 5 players' totals match 30 games")
    assert lines[1].startswith("PASS 9.3: recompute_totals read all 30 games in pages of up to 7")


def test_totals_proved_catches_a_scan_that_reads_one_page(app_lab: Lab) -> None:
    game.simulate_games(app_lab, 30, seed=1)
    _write_correct_totals(app_lab)
    with pytest.raises(CheckFailed, match="counted 7 games, the table holds 30.*LastEvaluatedKey"):
        checks.totals_proved(
            app_lab,
            _recompute(app_lab, follow_pages=False),
            exercise="9.3",
            min_games=30,
            page_size=7,
        )


def test_totals_proved_reports_a_wrong_aggregate_and_too_few_games(app_lab: Lab) -> None:
    game.simulate_games(app_lab, 30, seed=1)
    with pytest.raises(CheckFailed, match="is empty: is the function deployed"):
        checks.totals_proved(app_lab, _recompute(app_lab), exercise="9.3", min_games=30, timeout=0)
    _write_correct_totals(app_lab)
    with pytest.raises(CheckFailed, match="Only 30 games .* run the burst cell"):
        checks.totals_proved(app_lab, _recompute(app_lab), exercise="9.3", min_games=500)


def test_totals_proved_says_not_done_for_a_stub_or_an_undone_earlier_exercise(
    app_lab: Lab,
) -> None:
    def stub(page_size: int) -> dict:
        raise ExerciseNotDone("9.3", "scan the games")

    with pytest.raises(ExerciseNotDone, match="9.3 is not done yet"):
        checks.totals_proved(app_lab, stub, exercise="9.3")
    exercise.forget_all()
    ExerciseNotDone("9.1", "write the aggregator")
    with pytest.raises(ExerciseNotDone, match="9.1 is not done yet"):
        checks.totals_proved(app_lab, _recompute(app_lab), exercise="9.3", requires=["9.1"])


def test_totals_proved_blames_a_wrong_mapping_first_and_at_once(app_lab: Lab) -> None:
    _deploy(app_lab)
    scores, function = app_lab.name("GameScoreRecords"), app_lab.name("agg")
    game.simulate_games(app_lab, 30, seed=1)
    latest = mappings.connect_stream(app_lab, scores, function, starting_position="LATEST")
    try:
        with pytest.raises(CheckFailed, match="exercise 4.2 first: the mapping starts at LATEST"):
            checks.totals_proved(
                app_lab, _recompute(app_lab), exercise="9.3", min_games=30,
                requires=["4.1", "4.2"], function="agg", timeout=600,  # must not wait
            )
    finally:
        mappings.delete_mapping(app_lab, latest["UUID"])


def test_a_failed_mapping_check_is_named_first_by_the_totals_check(app_lab: Lab) -> None:
    """4.2 failed its check (a mapping at LATEST): 4.3 says so in one line, before it runs the
    learner's scan or waits a minute for totals that cannot come right."""
    _deploy(app_lab)
    scores, function = app_lab.name("GameScoreRecords"), app_lab.name("agg")
    game.simulate_games(app_lab, 3, seed=2)
    latest = mappings.connect_stream(app_lab, scores, function, starting_position="LATEST")
    scanned = []
    try:
        with pytest.raises(CheckFailed, match="starts at LATEST"):
            checks.mapping_connects(app_lab, "GameScoreRecords", "agg", exercise="9.2")
        with pytest.raises(exercise.EarlierExerciseFailed) as failed:
            checks.totals_proved(
                app_lab, lambda page_size: scanned.append(page_size), exercise="9.3",
                min_games=30, requires=["9.1", "9.2"], function="agg", timeout=600,
            )
        assert str(failed.value).startswith(
            "Exercise 9.3: exercise 9.2 failed its check: fix it and run its check again first"
        )
        assert "\n" not in str(failed.value) and scanned == []
    finally:
        mappings.delete_mapping(app_lab, latest["UUID"])


def test_a_scan_loop_that_never_ends_is_stopped_and_told_why(
    app_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    game.simulate_games(app_lab, 3, seed=3)
    monkeypatch.setattr(checks, "SCAN_SECONDS", 1.0)

    def recompute_totals(page_size: int) -> dict:
        request = {"TableName": game.scores_table_name(app_lab), "Limit": 1}
        page = app_lab.dynamodb.scan(**request)
        while "LastEvaluatedKey" in page:  # forgets ExclusiveStartKey: the same page forever
            page = app_lab.dynamodb.scan(**request)
        return {}

    with pytest.raises(CheckFailed) as failed:
        checks.totals_proved(app_lab, recompute_totals, exercise="9.3", min_games=3)
    assert "recompute_totals did not return within 1 s" in str(failed.value)
    assert "ExclusiveStartKey" in str(failed.value) and "\n" not in str(failed.value)
