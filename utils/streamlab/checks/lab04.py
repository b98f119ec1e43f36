"""Exercise checks for lab 04: the aggregator, its event source mapping, and the totals.

Like the other check modules, each reads the real backend and prints one PASS
line, or raises a one-line ``CheckFailed`` with a hint, or "not done yet" when
the exercise's stub ran. Notebooks import it as
``from streamlab.checks import lab04 as checks``.

The aggregator's check invokes the deployed function with a hand-made event for
two check players (one with a totals row already, one without), reads their
rows back and deletes them again: the leaderboard never shows them and the
final check never counts them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamlab.apps import game
from streamlab.aws import logs, mappings, roles
from streamlab.aws.invoke import decode_payload
from streamlab.aws.session import Lab
from streamlab.checks.deadline import LEARNER_CODE_SECONDS
from streamlab.checks.exercise import (
    call_learner,
    fail,
    is_stub_function,
    passed,
    raise_if_earlier_not_passed,
)
from streamlab.checks.probes import DEPLOY_HINT
from streamlab.errors import LabError

# Two players no game uses: one with earlier totals, one new.
CHECK_PLAYER = "check-4.1-known"
NEW_CHECK_PLAYER = "check-4.1-new"
EARLIER = {"TotalScore": 1000, "GamesPlayed": 2, "BestScore": 800}
# (event name, player, score): INSERTs are new games; MODIFY and REMOVE are not.
CHECK_RECORDS: tuple[tuple[str, str, int], ...] = (
    ("INSERT", CHECK_PLAYER, 300),
    ("INSERT", CHECK_PLAYER, 900),
    ("MODIFY", CHECK_PLAYER, 950),
    ("INSERT", NEW_CHECK_PLAYER, 42),
    ("INSERT", CHECK_PLAYER, 500),
    ("REMOVE", CHECK_PLAYER, 300),
)


def expected_check_totals() -> dict[str, dict[str, int]]:
    """What a right aggregator leaves for the check players after ``CHECK_RECORDS``."""
    totals = {CHECK_PLAYER: dict(EARLIER)}
    for name, player, score in CHECK_RECORDS:
        if name != "INSERT":
            continue
        row = totals.setdefault(player, {"TotalScore": 0, "GamesPlayed": 0, "BestScore": score})
        row["TotalScore"] += score
        row["GamesPlayed"] += 1
        row["BestScore"] = max(row["BestScore"], score)
    return totals


def check_event(lab: Lab) -> dict[str, Any]:
    """``CHECK_RECORDS`` as Lambda delivers them from GameScoreRecords' stream."""
    arn = (
        f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table/"
        f"{game.scores_table_name(lab)}/stream/2015-11-18T00:00:00.000"
    )
    records = []
    for number, (name, player, score) in enumerate(CHECK_RECORDS, start=1):
        item = game.game_item(
            player, score, record_id=f"check-{number}", game_time="2015-11-18T00:00:00.000Z"
        )
        image_keys = {"RecordID": item["RecordID"]}
        data: dict[str, Any] = {
            "ApproximateCreationDateTime": 1447804800 + number,
            "Keys": image_keys,
            "SequenceNumber": f"{number}00",
            "SizeBytes": 100,
            "StreamViewType": game.STREAM_VIEW_TYPE,
        }
        if name in ("INSERT", "MODIFY"):
            data["NewImage"] = item
        if name in ("MODIFY", "REMOVE"):
            data["OldImage"] = {**item, "Score": {"N": str(max(score - 50, 0))}}
        records.append(
            {
                "eventID": f"{number:032x}",
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": lab.region,
                "dynamodb": data,
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


def _totals_item(player: str, totals: Mapping[str, int]) -> dict[str, Any]:
    return {
        "PlayerName": {"S": player},
        **{name: {"N": str(value)} for name, value in totals.items()},
    }


def _read_and_delete(lab: Lab, table: str, player: str) -> dict[str, int] | None:
    key = {"PlayerName": {"S": player}}
    item = lab.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    lab.dynamodb.delete_item(TableName=table, Key=key)
    if item is None:
        return None
    return {name: int(item[name]["N"]) for name in game.TOTAL_FIELDS if name in item}


def aggregator_counts_games(lab: Lab, name: str, *, exercise: str, hint: str = "") -> None:
    """The deployed aggregator turns INSERTs (only) into ADDed totals and a rising BestScore."""
    function_name = lab.name(name)
    client = lab.lambda_
    try:
        client.get_function_configuration(FunctionName=function_name)
    except client.exceptions.ResourceNotFoundException:
        fail(exercise, f"there is no function {function_name!r} yet.", DEPLOY_HINT)
    table = game.totals_table_name(lab)
    for player in (CHECK_PLAYER, NEW_CHECK_PLAYER):  # a run stopped half-way left them
        lab.dynamodb.delete_item(TableName=table, Key={"PlayerName": {"S": player}})
    lab.dynamodb.put_item(TableName=table, Item=_totals_item(CHECK_PLAYER, EARLIER))
    try:
        response = client.invoke(
            FunctionName=function_name, Payload=json.dumps(check_event(lab)).encode()
        )
        payload = decode_payload(response["Payload"].read())
    finally:
        got = {p: _read_and_delete(lab, table, p) for p in (CHECK_PLAYER, NEW_CHECK_PLAYER)}
    if response.get("FunctionError"):
        error = payload if isinstance(payload, dict) else {}
        error_type, message = error.get("errorType"), error.get("errorMessage")
        fail(
            exercise,
            f"{function_name} failed on a batch of INSERT, MODIFY and REMOVE records: "
            f"{error_type}: {message}",
            _error_hint(str(error_type), str(message)) or hint,
        )
    expected = expected_check_totals()
    for player, wanted in expected.items():
        problem = _difference(player, wanted, got[player])
        if problem:
            fail(exercise, problem[0], problem[1] or hint)
    request_id = response["ResponseMetadata"]["RequestId"]
    text = logs.format_events(logs.request_logs(lab, function_name, request_id))
    games = sum(1 for record in CHECK_RECORDS if record[0] == "INSERT")
    if f"Added {games} game" not in text:
        fail(
            exercise,
            f"the totals are right, but the log of that invocation lacks 'Added {games} game(s)'.",
            "end the handler with print(f\"Added {games} game(s) from {len(event['Records'])} "
            'record(s)"), counting the INSERTs you added: the logs section reads that line.',
        )
    known = expected[CHECK_PLAYER]
    passed(
        exercise,
        f"{function_name} added 3 INSERTs (300, 900, 500), skipped a MODIFY and a REMOVE: "
        f"TotalScore {EARLIER['TotalScore']} -> {known['TotalScore']}, GamesPlayed "
        f"{EARLIER['GamesPlayed']} -> {known['GamesPlayed']}, BestScore {EARLIER['BestScore']} "
        f"-> {known['BestScore']}; a new player starts at 42, 1, 42",
    )


def _error_hint(error_type: str, message: str) -> str:
    if error_type == "KeyError" and "NewImage" in message:
        return (
            "a REMOVE record has no NewImage: skip every record whose eventName is not "
            "INSERT before you read its image."
        )
    if error_type == "KeyError":
        return (
            "a record's values are under record['dynamodb']['NewImage'], typed: "
            "image['Score']['N'] is the score as a string."
        )
    if "ConditionalCheckFailed" in error_type or "ConditionalCheckFailed" in message:
        return (
            "a lower score makes the BestScore update's condition fail: catch "
            "dynamodb.exceptions.ConditionalCheckFailedException and carry on."
        )
    if "Timedout" in error_type:
        return "the batch took longer than the function's timeout: keep --timeout 30 on the magic."
    return ""


def _difference(
    player: str, wanted: Mapping[str, int], got: Mapping[str, int] | None
) -> tuple[str, str] | None:
    """The first thing wrong with one check player's row, and the hint for it."""
    if got is None:
        return (
            f"after the batch there is no row for {player} in {game.TOTALS_TABLE}.",
            "UpdateItem creates the item when it is missing; use the table named in "
            "os.environ['GAME_SCORES_BY_USER_TABLE'] and the key {'PlayerName': ...}.",
        )
    shown = ", ".join(f"{name} {got.get(name, 'missing')}" for name in game.TOTAL_FIELDS)
    head = f"{player} should have {_totals_text(wanted)} after the batch, but has {shown}."
    if got.get("GamesPlayed") != wanted["GamesPlayed"]:
        if (got.get("GamesPlayed") or 0) > wanted["GamesPlayed"]:
            return head, "only INSERT records are new games: skip MODIFY and REMOVE."
        return head, "ADD 1 to GamesPlayed for every INSERT (ADD starts a missing number at 0)."
    if got.get("TotalScore") != wanted["TotalScore"]:
        return head, (
            "ADD each game's Score to TotalScore (UpdateExpression 'ADD TotalScore :score, "
            "GamesPlayed :one'); SET would replace the earlier total."
        )
    if got.get("BestScore") != wanted["BestScore"]:
        return head, (
            "BestScore only goes up: SET it with ConditionExpression "
            "'attribute_not_exists(BestScore) OR BestScore < :score'."
        )
    return None


def _totals_text(totals: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {totals[name]}" for name in game.TOTAL_FIELDS)


AGGREGATOR = "game-aggregator"


def _mapping_problem(
    lab: Lab, table: str, name: str, hint: str = ""
) -> tuple[str, str] | dict[str, Any]:
    """The one good mapping from the table's stream to the function, or what is wrong."""
    table_name = lab.name(table)
    function_name = lab.name(name)
    stream_arn = mappings.stream_arn_of(lab, table_name)
    listed = lab.lambda_.list_event_source_mappings(FunctionName=function_name)
    live = [m for m in listed["EventSourceMappings"] if m.get("State") != "Deleting"]
    ours = [m for m in live if m.get("EventSourceArn") == stream_arn]
    connect = (
        f"mappings.connect_stream(lab, {table_name!r}, {function_name!r}, "
        "starting_position='TRIM_HORIZON')"
    )
    if not ours:
        elsewhere = " (it has one on an older stream of a re-created table)" if live else ""
        if stream_arn and roles.may_read_stream(lab, function_name, stream_arn) is False:
            return (
                f"there is no event source mapping from {table_name}'s stream to "
                f"{function_name}: Lambda refuses one while the function's role may not read "
                "the stream (its policy has no dynamodb:GetRecords on it).",
                f"put --stream {table} on the %%lambda_function line of {name}, run that cell "
                "again, then create the mapping.",
            )
        return (
            f"there is no event source mapping from {table_name}'s stream to {function_name}"
            f"{elsewhere}.",
            hint or f"create it with {connect}.",
        )
    if len(ours) > 1:
        return (
            f"{len(ours)} mappings connect {table_name}'s stream to {function_name}: each one "
            "delivers every game, so every game is counted more than once.",
            "keep one: mappings.delete_mapping(lab, uuid) for the others.",
        )
    mapping = ours[0]
    if mapping.get("State") not in mappings.SETTLED_STATES:
        mapping = mappings.wait_for_mapping(lab, mapping["UUID"])
    if mapping["State"] != "Enabled":
        return (
            f"the mapping is {mapping['State']}: no games reach the function.",
            f"enable it: lab.lambda_.update_event_source_mapping(UUID={mapping['UUID']!r}, "
            "Enabled=True).",
        )
    position = mapping.get("StartingPosition")
    if position != "TRIM_HORIZON":
        return (
            f"the mapping starts at {position}: the games played before it existed are "
            "never counted.",
            "a starting position cannot be changed: mappings.delete_mapping(lab, "
            f"{mapping['UUID']!r}), then {connect}.",
        )
    return mapping


#: The batch size exercise 4.2 asks for (a batch of 100 games is one invocation).
BATCH_SIZE = 100


def mapping_connects(
    lab: Lab,
    table: str,
    name: str,
    *,
    exercise: str,
    hint: str = "",
    batch_size: int | None = BATCH_SIZE,
) -> None:
    """One mapping, from the table's current stream to the function: Enabled, TRIM_HORIZON,
    in batches of up to ``batch_size`` records (None: any)."""
    found = _mapping_problem(lab, table, name, hint)
    if isinstance(found, tuple):
        fail(exercise, *found)
    if batch_size is not None and found.get("BatchSize") != batch_size:
        fail(
            exercise,
            f"the mapping delivers batches of up to {found.get('BatchSize')} records; the "
            f"exercise asks for {batch_size}.",
            f"lab.lambda_.update_event_source_mapping(UUID={found['UUID']!r}, "
            f"BatchSize={batch_size}) changes it in place.",
        )
    passed(
        exercise,
        f"the stream of {lab.name(table)} -> {lab.name(name)}: Enabled, from TRIM_HORIZON, "
        f"batches of up to {found.get('BatchSize')}",
    )


# A scan of a few hundred games takes a second or two, even on AWS; a loop that scans again
# without ExclusiveStartKey (or never stops) goes on forever.
SCAN_SECONDS = LEARNER_CODE_SECONDS
SCAN_NEVER_ENDS = (
    "a page loop that never ends: before scanning again set "
    "request['ExclusiveStartKey'] = page['LastEvaluatedKey'], and stop at the first page "
    "without a LastEvaluatedKey."
)


def totals_proved(
    lab: Lab,
    recompute_totals: Callable[[int], Mapping[str, Mapping[str, int]]],
    *,
    exercise: str,
    min_games: int = 500,
    page_size: int = 100,
    requires: Sequence[str] = (),
    timeout: float = 60.0,
    hint: str = "",
    table: str = game.SCORES_TABLE,
    function: str = AGGREGATOR,
) -> None:
    """The learner's scan agrees with the kit's, and both agree with GameScoresByUser.

    ``game.check_totals`` waits for the aggregator to catch up, demands
    ``min_games`` games and compares every total; the learner's
    ``recompute_totals(page_size)`` must then give the same totals, which it only
    does when it follows ``LastEvaluatedKey`` through every page.
    """
    if is_stub_function(recompute_totals):  # this exercise's own "not done yet" comes first
        call_learner(exercise, recompute_totals, page_size, hint=hint)
    # An undone or failed earlier exercise explains wrong totals: say so first, at once.
    raise_if_earlier_not_passed(exercise, requires)
    mine = call_learner(
        exercise, recompute_totals, page_size, hint=hint, seconds=SCAN_SECONDS,
        too_slow=SCAN_NEVER_ENDS,
    )
    if "4.2" in requires:  # a wrong mapping explains wrong totals: say that first, at once
        found = _mapping_problem(lab, table, function)
        if isinstance(found, tuple):
            fail(exercise, f"exercise 4.2 first: {found[0]}", found[1])
    try:
        comparison = game.check_totals(lab, min_games=min_games, timeout=timeout)
    except LabError as exc:
        fail(exercise, str(exc), hint)
    problem = _recompute_difference(mine, comparison, page_size)
    if problem:
        fail(exercise, problem[0], problem[1] or hint)
    passed(
        exercise,
        f"recompute_totals read all {comparison.games} games in pages of up to {page_size}, and "
        f"agrees with {game.TOTALS_TABLE} on all {len(comparison.expected)} players' "
        "TotalScore, GamesPlayed and BestScore",
    )


def _recompute_difference(
    mine: Any, comparison: game.TotalsComparison, page_size: int
) -> tuple[str, str] | None:
    shape = "{'Alice': {'TotalScore': ..., 'GamesPlayed': ..., 'BestScore': ...}, ...}"
    if not isinstance(mine, Mapping) or not all(isinstance(v, Mapping) for v in mine.values()):
        return (
            f"recompute_totals returned {type(mine).__name__}, not a dict of players' totals.",
            f"return a dict shaped {shape}.",
        )
    games = sum(int(row.get("GamesPlayed", 0)) for row in mine.values())
    if games < comparison.games:
        return (
            f"recompute_totals counted {games} games, the table holds {comparison.games}.",
            f"Scan returns one page (here up to Limit={page_size} items): scan again with "
            "ExclusiveStartKey=page['LastEvaluatedKey'] until the answer has no LastEvaluatedKey.",
        )
    for player in sorted(set(comparison.expected) | set(mine)):
        wanted = comparison.expected.get(player)
        got = mine.get(player)
        if wanted is None or got is None:
            return (
                f"recompute_totals has {'an extra' if wanted is None else 'no'} player {player!r}.",
                "key the dict by each game's PlayerName (item['PlayerName']['S']).",
            )
    one_game_too_many = all(
        mine[player].get("GamesPlayed") == wanted["GamesPlayed"] + 1
        for player, wanted in comparison.expected.items()
    )
    for player in sorted(comparison.expected):
        wanted, got = comparison.expected[player], mine[player]
        for name in game.TOTAL_FIELDS:
            if got.get(name) != wanted[name]:
                if isinstance(got.get(name), str):
                    hint = "Score is a string in the item (item['Score']['N']): int() it."
                elif one_game_too_many:
                    hint = (
                        "every player has one game too many: each player's first game is "
                        "counted twice; start a new player at 0 games and a TotalScore of 0, "
                        "then add every game the same way."
                    )
                else:
                    hint = (
                        "TotalScore sums every game's Score, GamesPlayed counts the games, "
                        "BestScore is the highest Score."
                    )
                return (
                    f"recompute_totals gives {player} {name} {got.get(name)!r}, the games add "
                    f"up to {wanted[name]}.",
                    hint,
                )
    return None
