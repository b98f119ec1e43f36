"""Exercise checks for lab 05: idempotency, the on-failure route, filters.

Like every lab's checks (see ``streamlab.checks.exercise``), each check reads the real
backend (the function's
answers to a record delivered twice, the mapping's settings, the totals
recomputed from the games) and prints one PASS line, or raises a one-line
``CheckFailed`` with a hint, or "not done yet" while the exercise's stub is
what ran last. Notebooks import it as ``from streamlab.checks import lab05 as checks``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from streamlab.apps import reliability
from streamlab.aws import mappings, queues
from streamlab.aws.account import low_concurrency_note
from streamlab.aws.session import Lab
from streamlab.checks.exercise import (
    fail,
    passed,
    raise_if_earlier_failed,
    raise_if_not_done,
)
from streamlab.checks.probes import deployed_configuration, invoke_with_tail

CHECK_PLAYER = "Checker"


def stream_record(
    event_name: str,
    *,
    new: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
    event_id: str | None = None,
    sequence_number: str = "100",
) -> dict[str, Any]:
    """A game's stream record as Lambda delivers it (typed images)."""
    image = new or old or {}
    body: dict[str, Any] = {
        "Keys": {"RecordID": image["RecordID"]},
        "SequenceNumber": sequence_number,
        "SizeBytes": 64,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    return {
        "eventID": event_id or uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
    }


def _typed_game(record_id: str, score: int) -> dict[str, Any]:
    return {
        "RecordID": {"S": record_id},
        "PlayerName": {"S": CHECK_PLAYER},
        "Score": {"N": str(score)},
    }


def _deliver_twice(
    lab: Lab, function_name: str, record: dict[str, Any], exercise: str
) -> list[Any]:
    """Invoke the function twice with the same record; its two payloads."""
    payloads = []
    for _ in range(2):
        response, payload, _tail = invoke_with_tail(lab, function_name, {"Records": [record]})
        payloads.append(payload)
        if response.get("FunctionError"):
            error = payload if isinstance(payload, dict) else {}
            fail(
                exercise,
                f"{function_name} failed on a {record['eventName']}: "
                f"{error.get('errorType')}: {error.get('errorMessage')}",
                "read the function's log; count_once gets (event_id, player, score, games).",
            )
    return payloads


def _checker_totals(lab: Lab) -> dict[str, int]:
    item = lab.dynamodb.get_item(
        TableName=lab.name(reliability.TOTALS),
        Key={"PlayerName": {"S": CHECK_PLAYER}},
        ConsistentRead=True,
    ).get("Item", {})
    return {name: int(item.get(name, {"N": "0"})["N"]) for name in ("TotalScore", "GamesPlayed")}


def _forget_checker(lab: Lab, event_ids: list[str]) -> None:
    lab.dynamodb.delete_item(
        TableName=lab.name(reliability.TOTALS), Key={"PlayerName": {"S": CHECK_PLAYER}}
    )
    for event_id in event_ids:
        lab.dynamodb.delete_item(
            TableName=lab.name(reliability.EVENTS), Key={"EventID": {"S": event_id}}
        )


def counts_each_record_once(lab: Lab, name: str = "aggregator", *, exercise: str) -> None:
    """A record delivered twice (as a retry would) changes the totals once, and leaves a marker.

    The check plays a new game for the player ``Checker`` and then corrects its
    score, delivering each record twice straight to the function, and removes
    its rows afterwards.
    """
    raise_if_not_done([exercise])  # the stub ran last: say so before probing
    function_name = lab.name(name)
    deployed_configuration(lab, name, exercise)
    record_id = uuid.uuid4().hex
    insert = stream_record("INSERT", new=_typed_game(record_id, 7))
    modify = stream_record("MODIFY", new=_typed_game(record_id, 10), old=_typed_game(record_id, 7))
    ids = [insert["eventID"], modify["eventID"]]
    _forget_checker(lab, ids)
    try:
        again = _deliver_twice(lab, function_name, insert, exercise)[1]
        after_insert = _checker_totals(lab)
        marker = lab.dynamodb.get_item(
            TableName=lab.name(reliability.EVENTS),
            Key={"EventID": {"S": insert["eventID"]}},
            ConsistentRead=True,
        ).get("Item")
        _deliver_twice(lab, function_name, modify, exercise)
        after_modify = _checker_totals(lab)
    finally:
        _forget_checker(lab, ids)
    if after_insert == {"TotalScore": 14, "GamesPlayed": 2}:
        fail(
            exercise,
            "a game delivered twice was counted twice (TotalScore 14 for one game of 7).",
            "put the marker with ConditionExpression='attribute_not_exists(EventID)' in the same "
            "transact_write_items call as the update, and return False when it is cancelled.",
        )
    if after_insert != {"TotalScore": 7, "GamesPlayed": 1}:
        fail(
            exercise,
            f"after one game of 7 (delivered twice) the totals are {after_insert}.",
            "ADD score to TotalScore and games to GamesPlayed.",
        )
    if isinstance(again, dict) and again.get("counted", 0) > 0:  # the cell's handler sums it
        fail(
            exercise,
            "count_once returned True for a record it had counted before (the second delivery "
            "changed nothing, yet the handler reports it counted).",
            "when the transaction is cancelled because the marker is there "
            "(CancellationReasons[0]['Code'] == 'ConditionalCheckFailed'), return False.",
        )
    if marker is None:
        fail(
            exercise,
            f"no marker item {{'EventID': <the record's eventID>}} in {reliability.EVENTS}.",
            "the transaction's Put writes {'EventID': {'S': event_id}} into EVENTS.",
        )
    if after_modify != {"TotalScore": 10, "GamesPlayed": 1}:
        fail(
            exercise,
            f"after a correction 7 -> 10 (delivered twice) the totals are {after_modify}, "
            "expected TotalScore 10, GamesPlayed 1.",
            "count_once must apply the change it is given once, whatever the event name.",
        )
    if _marker_outlives_a_failed_update(lab, function_name):
        fail(
            exercise,
            "when the update of the totals failed, the marker was written anyway: the retry "
            "will skip that game, so it is never counted.",
            "put the marker and the ADD in one transact_write_items call, so both happen or "
            "neither does.",
        )
    passed(
        exercise,
        f"{function_name} counted a game delivered twice once (7), a correction delivered "
        "twice once (7 -> 10), left a marker per record, and none for a game it failed to count",
    )


def _marker_outlives_a_failed_update(lab: Lab, function_name: str) -> bool:
    """Deliver a game whose update must fail; True if its marker was written all the same.

    The checker's totals row gets a TotalScore that is a string, so ``ADD`` is refused. In
    one transaction that refusal cancels the marker too; as two calls, the marker stays,
    and the retry Lambda makes would skip the game for good.
    """
    record = stream_record("INSERT", new=_typed_game(uuid.uuid4().hex, 5))
    lab.dynamodb.put_item(
        TableName=lab.name(reliability.TOTALS),
        Item={"PlayerName": {"S": CHECK_PLAYER}, "TotalScore": {"S": "not a number"}},
    )
    try:
        invoke_with_tail(lab, function_name, {"Records": [record]})  # fails, as it should
        marker = lab.dynamodb.get_item(
            TableName=lab.name(reliability.EVENTS),
            Key={"EventID": {"S": record["eventID"]}},
            ConsistentRead=True,
        ).get("Item")
    finally:
        _forget_checker(lab, [record["eventID"]])
    return marker is not None


def poison_goes_to_queue(
    lab: Lab,
    name: str = "aggregator",
    queue: str = "aggregator-failures",
    *,
    exercise: str,
    max_retries: int = 10,
    requires: Sequence[str] = (),
) -> None:
    """The mapping retries a few times, bisects, hands failures to the queue; good games counted.

    ``requires``: the aggregator's exercise (5.1). An undone one is fine (the kit's aggregator
    stands in); one whose check failed is deployed and miscounts, so that comes first."""
    raise_if_not_done([exercise])  # the stub ran last: say so before probing
    raise_if_earlier_failed(exercise, requires)
    function_name = lab.name(name)
    mapping = _games_mapping(
        lab, function_name, exercise, "run the setup cells of sections 2 and 4 again."
    )
    mapping = mappings.wait_for_mapping(lab, mapping["UUID"])
    retries = mapping.get("MaximumRetryAttempts", -1)
    queue_arn = queues.create_queue(lab, lab.name(queue))["QueueArn"]
    destination = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if mapping.get("State") != "Enabled":
        fail(
            exercise,
            f"the mapping is {mapping.get('State')}: the exercise cell's connect_stream call did "
            "not change it.",
            "did that cell end with an error? Fix what it says and run it again (a destination "
            "is the queue's QueueArn, not its QueueUrl).",
        )
    if retries == -1 or retries > max_retries:
        fail(
            exercise,
            f"MaximumRetryAttempts is {retries}: a poison record is retried "
            f"{'until it expires' if retries == -1 else 'for a long time'}.",
            f"give a small number of retries, 0 to {max_retries}, e.g. MaximumRetryAttempts=2.",
        )
    if not mapping.get("BisectBatchOnFunctionError"):
        fail(
            exercise,
            "BisectBatchOnFunctionError is off: the good games in the poison's batch go to the "
            "queue with it.",
            "BisectBatchOnFunctionError=True splits a failing batch until the poison is alone.",
        )
    if destination != queue_arn:
        fail(
            exercise,
            f"the on-failure destination is {destination!r}, not the queue {lab.name(queue)}.",
            "DestinationConfig={'OnFailure': {'Destination': <the queue's QueueArn>}}.",
        )
    comparison = reliability.wait_for_totals(lab)
    if not comparison.ok:
        fail(
            exercise,
            f"{comparison.counted} of {comparison.games} good games counted so far.",
            low_concurrency_note(lab)
            or "is the aggregator failing on good games too? Read its log.",
        )
    passed(
        exercise,
        f"the mapping gives up after {retries} retries, bisects failing batches, sends "
        f"failures to {lab.name(queue)}, and all {comparison.games} good games are counted",
    )


def _samples() -> dict[str, dict[str, Any]]:
    new = {
        "RecordID": {"S": "r1"},
        "PlayerName": {"S": "Alice"},
        "Score": {"N": "999"},
    }
    old = {**new, "Score": {"N": "990"}}
    return {
        "INSERT": stream_record("INSERT", new=new),
        "MODIFY": stream_record("MODIFY", new=new, old=old),
        "REMOVE": stream_record("REMOVE", old=old),
    }


def filters_to_inserts(lab: Lab, name: str = "games-feed", *, exercise: str) -> None:
    """The mapping's FilterCriteria (read from the backend) pass INSERTs and nothing else."""
    from streamlab.local.pollers.filters import RecordFilter  # moto's EventBridge pattern matcher

    raise_if_not_done([exercise])  # the stub ran last: say so before probing
    function_name = lab.name(name)
    mapping = _games_mapping(lab, function_name, exercise, "run the cells of section 6 again.")
    filters = mapping.get("FilterCriteria", {}).get("Filters", [])
    hint = "FilterCriteria={'Filters': [{'Pattern': json.dumps({'eventName': ['INSERT']})}]}"
    if not filters:
        fail(exercise, f"the mapping to {function_name} has no FilterCriteria.", hint)
    try:
        record_filter = RecordFilter(f["Pattern"] for f in filters)
    except Exception as exc:  # the backend kept a pattern the matcher cannot read
        fail(exercise, f"a pattern cannot be read: {exc}.", hint)
    passing = sorted(n for n, record in _samples().items() if record_filter.matches(record))
    if passing != ["INSERT"]:
        fail(
            exercise,
            f"the filter lets through {passing or 'nothing'} of INSERT, MODIFY and REMOVE.",
            hint,
        )
    patterns = ", ".join(json.loads(f["Pattern"]).__repr__() for f in filters)
    passed(exercise, f"{function_name} gets INSERTs only (pattern {patterns})")


def _games_mapping(lab: Lab, function_name: str, exercise: str, hint: str) -> dict:
    """The mapping from the games table's stream to the function, or a failed check."""
    stream = mappings.stream_arn_of(lab, lab.name(reliability.GAMES))
    mapping = mappings.find_mapping(lab, stream, function_name)
    if mapping is None:
        fail(exercise, f"no mapping from {reliability.GAMES}'s stream to {function_name}.", hint)
    return mapping
