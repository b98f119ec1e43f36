"""Lab 06's checks: PASS on right answers, one-line failures on wrong ones, stubs say 'not done'."""

from __future__ import annotations

import pytest
from own_lab import lab_with_own_prefix

from streamlab.apps import analytics, game, replication
from streamlab.aws import functions, mappings
from streamlab.aws.session import Lab
from streamlab.checks import lab06 as checks
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone

REPLICATOR = """
import os
import boto3

replica = boto3.client("dynamodb", region_name=os.environ["REPLICA_REGION"])


def lambda_handler(event, context):
    for record in event["Records"]:
        change = record["dynamodb"]
        if record["eventName"] == "REMOVE":
            {remove}
        else:
            replica.put_item(TableName=os.environ["REPLICA_TABLE"], Item=change["NewImage"])
"""
DELETES = 'replica.delete_item(TableName=os.environ["REPLICA_TABLE"], Key=change["Keys"])'

WINDOW = """
import os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["GAME_SCORES_PER_WINDOW_TABLE"])


def lambda_handler(event, context):
    state = event.get("state") or {{}}
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage", {{}})
        if record["eventName"] != "INSERT" and {count_modify} is False:
            continue
        totals = state.setdefault(image["PlayerName"]["S"], {{"TotalScore": 0, "GamesPlayed": 0}})
        totals["TotalScore"] += int(image["Score"]["N"])
        totals["GamesPlayed"] += 1
    if event["isFinalInvokeForWindow"] or {write_always}:
        start = event["window"]["start"]
        row_key = start if {one_row_per_window} else f"{{start}} {{event['shardId']}}"
        for player, totals in state.items():
            table.put_item(Item={{"PlayerName": player, "WindowShard": row_key,
                                  "WindowStart": start, **totals}})
    return {{"state": state}}
"""


@pytest.fixture
def rep_lab(emulator: str) -> Lab:
    lab = lab_with_own_prefix(emulator)
    tables = game.create_game_tables(lab)
    replication.create_replica_table(lab, tables.scores)
    return lab


def _deploy_replicator(lab: Lab, remove: str = DELETES) -> None:
    functions.deploy_function(
        lab,
        "replicator",
        REPLICATOR.format(remove=remove),
        streams=["GameScoreRecords"],
        environment={"REPLICA_REGION": "us-west-2", "REPLICA_TABLE": lab.name("GameScoreRecords")},
    )


def _deploy_window(
    lab: Lab,
    *,
    count_modify: bool = False,
    write_always: bool = False,
    one_row_per_window: bool = False,
) -> None:
    analytics.create_window_table(lab)
    code = WINDOW.format(
        count_modify=count_modify,
        write_always=write_always,
        one_row_per_window=one_row_per_window,
    )
    functions.deploy_function(
        lab, "window-scores", code, tables=["GameScoresPerWindow"], streams=["GameScoreRecords"]
    )


def test_a_missing_function_after_its_stub_ran_says_not_done_yet(rep_lab: Lab) -> None:
    ExerciseNotDone("6.1", "write the replicator")
    with pytest.raises(ExerciseNotDone, match="Exercise 6.1 is not done yet"):
        checks.require_function(rep_lab, "replicator", exercise="6.1")


def test_a_missing_function_otherwise_says_which_cell_to_run(rep_lab: Lab) -> None:
    with pytest.raises(CheckFailed, match="%%lambda_function replicator cell of exercise 6.1"):
        checks.require_function(rep_lab, "replicator", exercise="6.1")


def test_a_right_replicator_passes(rep_lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    _deploy_replicator(rep_lab)
    table = rep_lab.name("GameScoreRecords")
    checks.replicator_applies(
        rep_lab, "replicator", exercise="6.1", table=table, region="us-west-2"
    )
    assert "PASS 6.1: " in capsys.readouterr().out
    replica = rep_lab.client("dynamodb", "us-west-2")
    assert replica.scan(TableName=table)["Count"] == 0  # the check's own record is gone


def test_a_replicator_that_ignores_removes_fails_on_the_remove(rep_lab: Lab) -> None:
    _deploy_replicator(rep_lab, remove="pass")
    table = rep_lab.name("GameScoreRecords")
    with pytest.raises(CheckFailed, match="after a REMOVE, check-replicator is still"):
        checks.replicator_applies(
            rep_lab, "replicator", exercise="6.1", table=table, region="us-west-2"
        )


def test_a_replicator_that_raises_fails_with_lambdas_error(rep_lab: Lab) -> None:
    _deploy_replicator(rep_lab, remove="raise ValueError('no')")
    table = rep_lab.name("GameScoreRecords")
    with pytest.raises(CheckFailed, match="failed: ValueError: no"):
        checks.replicator_applies(
            rep_lab, "replicator", exercise="6.1", table=table, region="us-west-2"
        )


def _bootstrap_for(lab: Lab, table: str, one_page: bool = False):  # noqa: ANN202
    replica = lab.client("dynamodb", "us-west-2")

    def bootstrap(page_size: int) -> int:
        request = {"TableName": table, "Limit": page_size}
        copied = 0
        while True:
            page = lab.dynamodb.scan(**request)
            for item in page["Items"]:
                replica.put_item(TableName=table, Item=item)
                copied += 1
            if one_page or "LastEvaluatedKey" not in page:
                return copied
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return bootstrap


def test_a_paginating_bootstrap_passes_even_over_a_full_replica(
    rep_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    table = rep_lab.name("GameScoreRecords")
    game.simulate_games(rep_lab, 30, seed=3)
    replication.copy_items(rep_lab, table, table, "us-west-2")
    checks.bootstrap_copies(
        rep_lab,
        _bootstrap_for(rep_lab, table),
        exercise="6.2",
        table=table,
        region="us-west-2",
        page_size=10,
    )
    assert "PASS 6.2: 30 items copied" in capsys.readouterr().out


def test_a_one_page_bootstrap_fails_even_when_the_replica_was_full(rep_lab: Lab) -> None:
    table = rep_lab.name("GameScoreRecords")
    game.simulate_games(rep_lab, 30, seed=4)
    replication.copy_items(rep_lab, table, table, "us-west-2")  # the check empties it first
    with pytest.raises(CheckFailed, match="only 10 items were copied: one page"):
        checks.bootstrap_copies(
            rep_lab,
            _bootstrap_for(rep_lab, table, one_page=True),
            exercise="6.2",
            table=table,
            region="us-west-2",
            page_size=10,
        )


def test_a_bootstrap_still_a_stub_says_not_done_yet(rep_lab: Lab) -> None:
    def bootstrap(page_size: int) -> int:
        raise ExerciseNotDone("6.2", "write the bootstrap")

    with pytest.raises(ExerciseNotDone, match="Exercise 6.2"):
        checks.bootstrap_copies(
            rep_lab,
            bootstrap,
            exercise="6.2",
            table=rep_lab.name("GameScoreRecords"),
            region="us-west-2",
        )


def test_a_bootstrap_returning_the_wrong_count_is_told_what_to_return(rep_lab: Lab) -> None:
    table = rep_lab.name("GameScoreRecords")
    game.simulate_games(rep_lab, 5, seed=5)
    right = _bootstrap_for(rep_lab, table)
    with pytest.raises(CheckFailed, match="return the number of items written"):
        checks.bootstrap_copies(
            rep_lab, lambda n: right(n) and None, exercise="6.2", table=table, region="us-west-2"
        )


def test_convergence_needs_the_mapping_and_then_passes(
    rep_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    table = rep_lab.name("GameScoreRecords")
    _deploy_replicator(rep_lab)
    with pytest.raises(CheckFailed, match="is not connected to the stream"):
        checks.replica_converges(
            rep_lab, "replicator", exercise="6.1", table=table, region="us-west-2"
        )
    mappings.connect_stream(rep_lab, table, rep_lab.name("replicator"), "TRIM_HORIZON")
    items = game.simulate_games(rep_lab, 10, seed=6)
    rep_lab.dynamodb.delete_item(TableName=table, Key={"RecordID": items[0]["RecordID"]})
    checks.replica_converges(
        rep_lab, "replicator", exercise="6.1", table=table, region="us-west-2", timeout=20
    )
    assert "holds the same 9 items" in capsys.readouterr().out


def test_a_right_window_handler_passes_and_leaves_no_rows(
    rep_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy_window(rep_lab)
    checks.window_handler_totals(
        rep_lab, "window-scores", exercise="6.3", table=rep_lab.name("GameScoreRecords")
    )
    assert "PASS 6.3: " in capsys.readouterr().out
    assert analytics.window_rows(rep_lab) == []


def test_counting_corrections_as_games_fails(rep_lab: Lab) -> None:
    _deploy_window(rep_lab, count_modify=True)
    with pytest.raises(CheckFailed, match="the final invocation, Alice: .*expected"):
        checks.window_handler_totals(
            rep_lab, "window-scores", exercise="6.3", table=rep_lab.name("GameScoreRecords")
        )


def test_one_row_per_window_for_every_shard_fails_with_the_shard_hint(rep_lab: Lab) -> None:
    _deploy_window(rep_lab, one_row_per_window=True)
    with pytest.raises(CheckFailed, match="second shard's row replaced the first") as caught:
        checks.window_handler_totals(
            rep_lab, "window-scores", exercise="6.3", table=rep_lab.name("GameScoreRecords")
        )
    assert "event['shardId']" in str(caught.value)
    assert analytics.window_rows(rep_lab) == []


def test_writing_before_the_final_invocation_fails(rep_lab: Lab) -> None:
    _deploy_window(rep_lab, write_always=True)
    with pytest.raises(CheckFailed, match="wrote rows before the window's final invocation"):
        checks.window_handler_totals(
            rep_lab, "window-scores", exercise="6.3", table=rep_lab.name("GameScoreRecords")
        )
    assert analytics.window_rows(rep_lab) == []


def test_windows_written_needs_a_tumbling_window_mapping(rep_lab: Lab) -> None:
    _deploy_window(rep_lab)
    table = rep_lab.name("GameScoreRecords")
    mappings.connect_stream(rep_lab, table, rep_lab.name("window-scores"), "TRIM_HORIZON")
    with pytest.raises(CheckFailed, match="no TumblingWindowInSeconds"):
        checks.windows_written(rep_lab, "window-scores", {}, exercise="6.3", table=table)


def test_windows_written_passes_for_a_burst_in_a_short_window(
    rep_lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy_window(rep_lab)
    table = rep_lab.name("GameScoreRecords")
    mappings.connect_stream(
        rep_lab, table, rep_lab.name("window-scores"), "TRIM_HORIZON", TumblingWindowInSeconds=2
    )
    start = analytics.wait_for_next_window(2)
    expected = {start: analytics.expected_window_totals(game.simulate_games(rep_lab, 8, seed=7))}
    checks.windows_written(rep_lab, "window-scores", expected, exercise="6.3", table=table)
    assert "PASS 6.3: 1 window(s)" in capsys.readouterr().out
