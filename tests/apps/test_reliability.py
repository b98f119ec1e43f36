"""streamlab.apps.reliability: lab 05's tables, totals, backlog and on-failure helpers."""

from __future__ import annotations

import uuid

import pytest

from streamlab.apps import reliability
from streamlab.aws import functions, mappings, streams, tables
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config


@pytest.fixture
def rlab(emulator: str) -> Lab:
    """A lab with a prefix of its own and the lab's tables and queues, made afresh."""
    prefix = f"r{uuid.uuid4().hex[:8]}-"
    lab = connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )
    lab.test_queues = reliability.start_afresh(lab)  # type: ignore[attr-defined]
    return lab


def test_game_makes_a_poison_record_from_a_text_score() -> None:
    assert reliability.game_item("1", "Alice", 999)["Score"] == 999
    assert reliability.counted_score(reliability.game_item("4", "Eve", "lots")) is None
    assert reliability.counted_score({"Score": True}) is None
    assert reliability.counted_score(reliability.game_item("1", "Alice", 0)) == 0


def test_expected_totals_leave_out_poison_records_and_compare_with_the_table(rlab: Lab) -> None:
    reliability.write_games(
        rlab,
        [
            reliability.game_item("1", "Alice", 999),
            reliability.game_item("2", "Alice", 1),
            reliability.game_item("3", "Eve", "lots"),
        ],
    )
    assert reliability.expected_totals(rlab) == {"Alice": {"TotalScore": 1000, "GamesPlayed": 2}}
    comparison = reliability.compare_totals(rlab)
    assert not comparison.ok and comparison.games == 2 and comparison.counted == 0
    assert "WRONG" in repr(comparison)
    rlab.dynamodb.put_item(
        TableName=rlab.name(reliability.TOTALS),
        Item={"PlayerName": {"S": "Alice"}, "TotalScore": {"N": "1000"}, "GamesPlayed": {"N": "2"}},
    )
    # a zero row (a player whose games were all deleted) counts as no row
    rlab.dynamodb.put_item(
        TableName=rlab.name(reliability.TOTALS),
        Item={"PlayerName": {"S": "Bob"}, "TotalScore": {"N": "0"}, "GamesPlayed": {"N": "0"}},
    )
    assert reliability.compare_totals(rlab).ok
    assert "WRONG" not in repr(reliability.compare_totals(rlab))


def test_start_afresh_empties_tables_and_queues(rlab: Lab) -> None:
    reliability.write_games(rlab, [reliability.game_item("1", "Alice", 5)])
    queue = rlab.test_queues["aggregator-failures"]  # type: ignore[attr-defined]
    rlab.sqs.send_message(QueueUrl=queue["QueueUrl"], MessageBody="{}")
    reliability.start_afresh(rlab)
    assert reliability.expected_totals(rlab) == {}
    assert reliability.wait_for_failures(rlab, queue["QueueUrl"], timeout=0) == []


def shards_of_games(lab: Lab, table: str) -> dict[str, str]:
    """RecordID -> the shard its stream records are in."""
    arn = streams.stream_arn(lab, table)
    result: dict[str, str] = {}
    for shard in streams.list_shards(lab, arn):
        iterator = lab.dynamodbstreams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.read_shard(lab, iterator):
            result[record["dynamodb"]["Keys"]["RecordID"]["S"]] = shard["ShardId"]
    return result


def test_the_reference_aggregator_counts_once_blocks_on_poison_and_reports_failures(
    rlab: Lab,
) -> None:
    reliability.ensure_aggregator(rlab)
    name = rlab.name(reliability.AGGREGATOR)
    games_table = rlab.name(reliability.GAMES)
    mapping = mappings.connect_stream(rlab, games_table, name)
    games = [reliability.game_item(str(n), "Alice", 10) for n in range(1, 10)]
    games[1] = reliability.game_item("2", "Eve", "lots")  # the poison record
    reliability.write_games(rlab, games)
    shard_of = shards_of_games(rlab, games_table)
    poisoned = shard_of["2"]
    blocked_games = [n for n in range(2, 10) if shard_of[str(n)] == poisoned]
    assert len(blocked_games) > 1 and len(set(shard_of.values())) > 1  # the test shows both
    blocked = reliability.wait_until(
        rlab,
        lambda: reliability.backlog_sample(rlab, mapping["UUID"], 0.0),
        lambda sample: sample.last_result.startswith("PROBLEM")
        and sample.counted == 9 - len(blocked_games),
    )
    # Only the poison record's shard waits behind it; the other shards' games are counted.
    assert (blocked.written, blocked.backlog) == (9, len(blocked_games))
    assert blocked.oldest_waiting_age >= 0
    queue = rlab.test_queues["aggregator-failures"]  # type: ignore[attr-defined]
    mappings.connect_stream(rlab, games_table, name, Enabled=False)
    mappings.connect_stream(
        rlab,
        games_table,
        name,
        Enabled=True,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue["QueueArn"]}},
    )
    assert reliability.wait_for_totals(rlab).ok
    failed = reliability.show_failures(rlab, queue["QueueUrl"])
    assert [batch.info["batchSize"] for batch in failed] == [1]
    assert failed[0].records[0]["dynamodb"]["NewImage"]["Score"] == {"S": "lots"}


def test_ensure_aggregator_keeps_a_deployed_function(rlab: Lab, capsys) -> None:
    code = "def lambda_handler(event, context):\n    return 'mine'\n"
    functions.deploy_function(rlab, reliability.AGGREGATOR, code)
    capsys.readouterr()
    reliability.ensure_aggregator(rlab)
    assert "your function" in capsys.readouterr().out
    answer = rlab.lambda_.invoke(FunctionName=rlab.name(reliability.AGGREGATOR))
    assert answer["Payload"].read() == b'"mine"'


def test_show_failures_says_when_nothing_arrived(rlab: Lab, capsys) -> None:
    queue = rlab.test_queues["feed-failures"]  # type: ignore[attr-defined]
    assert reliability.show_failures(rlab, queue["QueueUrl"], timeout=0) == []
    assert "No failed batch" in capsys.readouterr().out


def test_wait_for_totals_does_not_wait_for_a_disabled_mapping(rlab: Lab) -> None:
    reliability.ensure_aggregator(rlab)
    games_table = rlab.name(reliability.GAMES)
    mappings.connect_stream(rlab, games_table, rlab.name("aggregator"), Enabled=False)
    reliability.write_games(rlab, [reliability.game_item("1", "Alice", 5)])
    comparison = reliability.wait_for_totals(rlab, timeout=60, function="aggregator")
    assert not comparison.ok and comparison.counted == 0
    assert repr(comparison).startswith(
        f"Not counted yet: the mapping {games_table} -> {rlab.name('aggregator')} is Disabled"
    )
    assert "exercise 5.2" in repr(comparison).splitlines()[0]


def ttl_removal(player: str, score: int) -> dict:
    """The REMOVE record of a game DynamoDB's Time to Live deleted (as Lambda receives it)."""
    return {
        "eventID": "f" * 32,
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": {"RecordID": {"S": "1"}},
            "OldImage": {
                "RecordID": {"S": "1"},
                "PlayerName": {"S": player},
                "Score": {"N": str(score)},
            },
        },
    }


def reference_aggregator(monkeypatch) -> dict:
    """The kit's aggregator module, loaded as Lambda would (its environment set)."""
    monkeypatch.setenv("RELIABILITY_TOTALS_TABLE", "totals")
    monkeypatch.setenv("RELIABILITY_EVENTS_TABLE", "events")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    namespace: dict = {}
    exec(compile(reliability.aggregator_source(), "handler.py", "exec"), namespace)
    return namespace


def test_the_aggregator_keeps_a_game_that_ttl_expired_in_the_totals(monkeypatch) -> None:
    aggregator = reference_aggregator(monkeypatch)
    player, score, games = aggregator["change_of"](ttl_removal("Alice", 999))
    assert (player, score, games) == ("Alice", 0, 0)  # expired, not deleted: it was played
    user_delete = ttl_removal("Alice", 999)
    del user_delete["userIdentity"]
    assert aggregator["change_of"](user_delete) == ("Alice", -999, -1)


def test_a_game_expired_by_ttl_is_not_subtracted_from_the_totals(rlab: Lab) -> None:
    reliability.ensure_aggregator(rlab)
    games_table = rlab.name(reliability.GAMES)
    mappings.connect_stream(rlab, games_table, rlab.name(reliability.AGGREGATOR))
    rlab.dynamodb.update_time_to_live(
        TableName=games_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "ExpiresAt"},
    )
    old = {**reliability.game_item("1", "Alice", 999), "ExpiresAt": 1_000_000}
    reliability.write_games(rlab, [old, reliability.game_item("2", "Alice", 1)])
    assert reliability.wait_for_totals(rlab).ok
    assert tables.expire_ttl_items(rlab, games_table) == [{"RecordID": {"S": "1"}}]
    rlab.dynamodb.delete_item(TableName=games_table, Key={"RecordID": {"S": "2"}})  # a user's
    expected = {"Alice": {"TotalScore": 999, "GamesPlayed": 1}}
    final = reliability.wait_until(
        rlab, lambda: reliability.totals(rlab), lambda totals: totals == expected, 30
    )
    assert final == expected
