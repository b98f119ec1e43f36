"""streamlab.checks.lab05: lab 05's checks pass right answers and explain wrong ones."""

from __future__ import annotations

import json

import pytest
from own_lab import lab_with_own_prefix

from streamlab.apps import reliability
from streamlab.aws import functions, mappings
from streamlab.aws.session import Lab
from streamlab.checks import exercise
from streamlab.checks import lab05 as checks
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone

NAIVE = """
import os
import boto3
dynamodb = boto3.client("dynamodb")


def lambda_handler(event, context):
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        dynamodb.update_item(
            TableName=os.environ["RELIABILITY_TOTALS_TABLE"],
            Key={"PlayerName": image["PlayerName"]},
            UpdateExpression="ADD TotalScore :s, GamesPlayed :one",
            ExpressionAttributeValues={":s": image["Score"], ":one": {"N": "1"}},
        )
"""


@pytest.fixture
def rlab(emulator: str) -> Lab:
    lab = lab_with_own_prefix(emulator)
    lab.test_queues = reliability.start_afresh(lab)  # type: ignore[attr-defined]
    return lab


def test_idempotent_aggregator_passes_5_1(rlab: Lab, capsys) -> None:
    reliability.ensure_aggregator(rlab)
    checks.counts_each_record_once(rlab, "aggregator", exercise="9.1")
    assert "PASS 9.1" in capsys.readouterr().out
    assert reliability.totals(rlab) == {}  # the check removed its rows


def test_a_naive_aggregator_fails_5_1_with_the_reason(rlab: Lab) -> None:
    functions.deploy_function(rlab, "naive", NAIVE, tables=[reliability.TOTALS])
    with pytest.raises(CheckFailed, match="counted twice"):
        checks.counts_each_record_once(rlab, "naive", exercise="9.1")


def test_a_pending_stub_says_not_done(rlab: Lab) -> None:
    exercise.mark_pending("9.2", "do it")
    try:
        with pytest.raises(ExerciseNotDone):
            checks.poison_goes_to_queue(rlab, exercise="9.2")
    finally:
        exercise.forget("9.2")


def test_5_2_wants_a_bounded_retry_count(rlab: Lab) -> None:
    reliability.ensure_aggregator(rlab)
    mappings.connect_stream(rlab, rlab.name(reliability.GAMES), rlab.name("aggregator"))
    with pytest.raises(CheckFailed, match="MaximumRetryAttempts is -1"):
        checks.poison_goes_to_queue(rlab, exercise="9.2")


def test_5_2_passes_with_retries_bisect_and_the_queue(rlab: Lab, capsys) -> None:
    reliability.ensure_aggregator(rlab)
    queue = rlab.test_queues["aggregator-failures"]  # type: ignore[attr-defined]
    reliability.write_games(
        rlab, [reliability.game_item("1", "Alice", 3), reliability.game_item("2", "Eve", "x")]
    )
    mappings.connect_stream(
        rlab,
        rlab.name(reliability.GAMES),
        rlab.name("aggregator"),
        MaximumRetryAttempts=1,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue["QueueArn"]}},
    )
    checks.poison_goes_to_queue(rlab, exercise="9.2")
    assert "PASS 9.2" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["INSERT", "MODIFY"]}, False),
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, False),
    ],
)
def test_5_3_reads_the_filter_from_the_mapping(rlab: Lab, pattern: dict, ok: bool) -> None:
    functions.deploy_function(
        rlab, "games-feed", NAIVE, tables=[reliability.FEED], streams=[reliability.GAMES]
    )
    mappings.connect_stream(
        rlab,
        rlab.name(reliability.GAMES),
        rlab.name("games-feed"),
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )
    if ok:
        checks.filters_to_inserts(rlab, "games-feed", exercise="9.3")
    else:
        with pytest.raises(CheckFailed, match="lets through"):
            checks.filters_to_inserts(rlab, "games-feed", exercise="9.3")


def test_5_3_without_a_filter_says_so(rlab: Lab) -> None:
    functions.deploy_function(
        rlab, "games-feed", NAIVE, tables=[reliability.FEED], streams=[reliability.GAMES]
    )
    mappings.connect_stream(rlab, rlab.name(reliability.GAMES), rlab.name("games-feed"))
    with pytest.raises(CheckFailed, match="no FilterCriteria"):
        checks.filters_to_inserts(rlab, "games-feed", exercise="9.3")
