"""Exercise checks for lab 06: the replicator, the bootstrap and the window aggregates.

Each check reads the real backend: it invokes the deployed function with
stream events of its own and reads the replica or the results table, or it
empties the replica and runs the learner's bootstrap, then compares both tables
item by item. One PASS line, or a one-line ``CheckFailed`` with a hint, or "not
done yet" when the exercise's stub is what ran. Notebooks import it as
``from streamlab.checks import lab06 as checks``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamlab.apps import analytics, replication
from streamlab.aws.invoke import decode_payload
from streamlab.aws.mappings import find_mapping, stream_arn_of
from streamlab.aws.session import Lab
from streamlab.checks.deadline import LEARNER_CODE_SECONDS
from streamlab.checks.exercise import call_learner, fail, passed, raise_if_earlier_not_passed

CHECK_RECORD_ID = "check-replicator"
#: How long the checks wait for asynchronous results: a new mapping on AWS can take minutes.
WAIT_SECONDS = {"local": 30.0, "aws": 180.0}
#: re:Invent 2015, when the seed workshop ran: a window no real burst can fall in.
CHECK_WINDOW = {"start": "2015-10-08T17:00:00Z", "end": "2015-10-08T17:01:00Z"}


# -- building stream events -----------------------------------------------------------------


def stream_record(
    lab: Lab,
    table: str,
    event_name: str,
    keys: Mapping[str, Any],
    *,
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    sequence: int = 1,
) -> dict[str, Any]:
    """One DynamoDB stream record in the shape Lambda delivers (NEW_AND_OLD_IMAGES)."""
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1444323600,
        "Keys": dict(keys),
        "SequenceNumber": f"{sequence:021d}",
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        change["NewImage"] = dict(new_image)
    if old_image is not None:
        change["OldImage"] = dict(old_image)
    return {
        "eventID": f"{sequence:032x}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": lab.region,
        "dynamodb": change,
        "eventSourceARN": f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table/{table}"
        "/stream/2015-10-08T17:00:00.000",
    }


def _game(record_id: str, player: str, score: int) -> dict[str, Any]:
    return {
        "RecordID": {"S": record_id},
        "PlayerName": {"S": player},
        "Score": {"N": str(score)},
        "GameTime": {"S": "2015-10-08T17:00:00Z"},
    }


def _invoke_checked(lab: Lab, function_name: str, event: Any, exercise: str, hint: str) -> Any:
    response = lab.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
    payload = decode_payload(response["Payload"].read())
    if response.get("FunctionError"):
        error = payload if isinstance(payload, dict) else {}
        fail(
            exercise,
            f"{function_name} failed: {error.get('errorType')}: {error.get('errorMessage')}",
            hint,
        )
    return payload


def _timeout(lab: Lab, timeout: float | None) -> float:
    return WAIT_SECONDS.get(lab.backend, WAIT_SECONDS["aws"]) if timeout is None else timeout


# -- guards ---------------------------------------------------------------------------------


def require_function(lab: Lab, name: str, *, exercise: str) -> None:
    """Silent when the function exists; otherwise "not done yet" (or where to deploy it)."""
    client = lab.lambda_
    try:
        client.get_function_configuration(FunctionName=lab.name(name))
    except client.exceptions.ResourceNotFoundException:
        fail(
            exercise,
            f"there is no function {lab.name(name)!r} yet.",
            f"run the %%lambda_function {name} cell of exercise {exercise} first.",
        )


def _require_mapping(lab: Lab, table: str, name: str, exercise: str, hint: str) -> dict:
    require_function(lab, name, exercise=exercise)
    mapping = find_mapping(lab, stream_arn_of(lab, table), lab.name(name))
    if mapping is None:
        fail(exercise, f"{lab.name(name)} is not connected to the stream of {table}.", hint)
    return mapping


# -- 6.1 the replicator ---------------------------------------------------------------------


def replicator_applies(
    lab: Lab, name: str, *, exercise: str, table: str, region: str, hint: str = ""
) -> None:
    """An INSERT, a MODIFY and a REMOVE, each sent to the function, each applied to the replica."""
    hint = hint or (
        "for INSERT and MODIFY put_item the record's dynamodb NewImage into the replica; for "
        "REMOVE delete_item its dynamodb Keys."
    )
    require_function(lab, name, exercise=exercise)
    function_name = lab.name(name)
    replica = lab.client("dynamodb", region)
    key = {"RecordID": {"S": CHECK_RECORD_ID}}
    replica.delete_item(TableName=table, Key=key)
    first, second = _game(CHECK_RECORD_ID, "Checker", 100), _game(CHECK_RECORD_ID, "Checker", 150)
    steps = [
        ("INSERT", stream_record(lab, table, "INSERT", key, new_image=first, sequence=1), first),
        (
            "MODIFY",
            stream_record(lab, table, "MODIFY", key, new_image=second, old_image=first, sequence=2),
            second,
        ),
        ("REMOVE", stream_record(lab, table, "REMOVE", key, old_image=second, sequence=3), None),
    ]
    for event_name, record, expected in steps:
        _invoke_checked(lab, function_name, {"Records": [record]}, exercise, hint)
        found = replica.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if found != expected:
            if expected is None:
                problem = f"after a REMOVE, {CHECK_RECORD_ID} is still in the replica."
            elif found is None:
                problem = f"after an {event_name}, {CHECK_RECORD_ID} is not in {table} ({region})."
            else:
                problem = f"after a {event_name}, the replica holds {found}, not the new image."
            fail(exercise, problem, hint)
    passed(
        exercise,
        f"{function_name} applied an INSERT, a MODIFY and a REMOVE to {table} in {region}",
    )


# -- 6.2 the bootstrap ----------------------------------------------------------------------


def _empty_table(client: Any, table: str) -> int:
    deleted = 0
    keys = None
    for item in replication.scan_items(client, table):
        if keys is None:
            description = client.describe_table(TableName=table)["Table"]
            keys = replication.key_names_of(description)
        client.delete_item(TableName=table, Key={name: item[name] for name in keys})
        deleted += 1
    return deleted


BOOTSTRAP_SECONDS = LEARNER_CODE_SECONDS
BOOTSTRAP_NEVER_ENDS = (
    "a page loop that never ends: before scanning again set "
    "request['ExclusiveStartKey'] = page['LastEvaluatedKey'], and stop at the first page "
    "without a LastEvaluatedKey."
)


def bootstrap_copies(
    lab: Lab,
    bootstrap: Callable[[int], Any],
    *,
    exercise: str,
    table: str,
    region: str,
    page_size: int = 25,
    hint: str = "",
) -> None:
    """Empty the replica, run ``bootstrap(page_size)``, then compare both tables item by item.

    The page is small on purpose, so a bootstrap that reads one page only (no
    ``ExclusiveStartKey``) leaves items behind and the comparison says so.
    """
    hint = hint or (
        "scan again with ExclusiveStartKey=page['LastEvaluatedKey'] until a page has no "
        "LastEvaluatedKey, putting every item of every page into the replica."
    )
    replica = lab.client("dynamodb", region)
    # Emptying the replica and copying every item takes a while (more on AWS, where each
    # write crosses regions): say what the cell is waiting for before it goes quiet.
    print(f"waiting for your bootstrap to copy {table} to {region}, page by page, then comparing")
    _empty_table(replica, table)
    copied = call_learner(
        exercise, bootstrap, page_size, hint=hint, seconds=BOOTSTRAP_SECONDS,
        too_slow=BOOTSTRAP_NEVER_ENDS,
    )
    comparison = replication.compare_tables(lab, table, table, region)
    if comparison.missing and comparison.replica_items <= page_size:
        fail(exercise, f"only {comparison.replica_items} items were copied: one page.", hint)
    if not comparison.ok:
        fail(exercise, comparison.summary()[len("FAIL: ") :] + ".", hint)
    if copied != comparison.source_items:
        fail(
            exercise,
            f"bootstrap returned {copied!r}, but it copied {comparison.source_items} items.",
            "return the number of items written.",
        )
    pages = -(-comparison.source_items // page_size)
    passed(
        exercise,
        f"{copied} items copied to {table} in {region} ({pages} pages of {page_size}); "
        "the replica equals the source",
    )


def replica_converges(
    lab: Lab,
    name: str,
    *,
    exercise: str,
    table: str,
    region: str,
    timeout: float | None = None,
    hint: str = "",
    requires: Sequence[str] = (),
) -> None:
    """The replicator is connected, and the replica catches up with the source, item by item.

    ``requires``: the bootstrap's exercise (6.2). Without its copy the history is missing from
    the replica whatever the replicator does, so an undone or failed 6.2 comes first."""
    raise_if_earlier_not_passed(exercise, requires)
    _require_mapping(lab, table, name, exercise, "run the cell that connects it (above).")
    comparison = replication.wait_for_convergence(
        lab, table, table, region, timeout=_timeout(lab, timeout)
    )
    if not comparison.ok:
        first = comparison.describe_differences(1)[0]
        fail(exercise, f"{comparison.summary()[len('FAIL: ') :]}; first: {first}.", hint)
    passed(exercise, f"{table} in {region} holds the same {comparison.source_items} items")


# -- 6.3 the window aggregates --------------------------------------------------------------


CHECK_SHARDS = ("shardId-00000001444323600000-0000000a", "shardId-00000001444323600001-0000000b")


def _window_event(
    lab: Lab, table: str, records: list, state: Any, *, final: bool, shard: str = CHECK_SHARDS[0]
) -> dict[str, Any]:
    return {
        "Records": records,
        "window": dict(CHECK_WINDOW),
        "state": state,
        "shardId": shard,
        "eventSourceARN": f"arn:aws:dynamodb:{lab.region}:{lab.account_id}:table/{table}"
        "/stream/2015-10-08T17:00:00.000",
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }


def _delete_check_rows(lab: Lab) -> None:
    analytics.delete_window_rows(lab, [CHECK_WINDOW["start"]])


SHARD_KEY_HINT = (
    "each shard has its own window and final invocation: put "
    "WindowShard=f\"{start} {event['shardId']}\" so one shard's row does not replace "
    "another's."
)


def window_handler_totals(
    lab: Lab, name: str, *, exercise: str, table: str, hint: str = ""
) -> None:
    """Two invocations carry the state, a MODIFY is ignored, the final one writes the totals;
    a second shard's window, with its own final invocation, adds to the same window's rows."""
    require_function(lab, name, exercise=exercise)
    function_name = lab.name(name)
    _delete_check_rows(lab)

    def insert(n: int, player: str, score: int) -> dict[str, Any]:
        key = {"RecordID": {"S": f"check-window-{n}"}}
        return stream_record(
            lab,
            table,
            "INSERT",
            key,
            new_image=_game(f"check-window-{n}", player, score),
            sequence=n,
        )

    correction = stream_record(
        lab,
        table,
        "MODIFY",
        {"RecordID": {"S": "check-window-1"}},
        new_image=_game("check-window-1", "Alice", 300),
        old_image=_game("check-window-1", "Alice", 100),
        sequence=3,
    )
    shards = {
        CHECK_SHARDS[0]: [
            [insert(1, "Alice", 100), insert(2, "Bob", 50), correction],
            [insert(4, "Alice", 25)],
        ],
        CHECK_SHARDS[1]: [[insert(5, "Alice", 10)]],
    }
    for shard, batches in shards.items():
        state: Any = {}
        for batch in batches:
            event = _window_event(lab, table, batch, state, final=False, shard=shard)
            payload = _invoke_checked(lab, function_name, event, exercise, hint)
            if not isinstance(payload, dict) or not isinstance(payload.get("state"), dict):
                fail(exercise, f"the handler returned {payload!r}, not {{'state': {{...}}}}.", hint)
            state = payload["state"]
            if analytics.window_rows(lab, [CHECK_WINDOW["start"]]) and shard == CHECK_SHARDS[0]:
                _delete_check_rows(lab)
                fail(exercise, "the handler wrote rows before the window's final invocation.", hint)
        final_event = _window_event(lab, table, [], state, final=True, shard=shard)
        _invoke_checked(lab, function_name, final_event, exercise, hint)
    expected = {
        "Alice": {"TotalScore": 135, "GamesPlayed": 3},
        "Bob": {"TotalScore": 50, "GamesPlayed": 1},
    }
    rows = analytics.window_rows(lab, [CHECK_WINDOW["start"]])
    result = analytics.WindowResult({CHECK_WINDOW["start"]: expected}, rows)
    _delete_check_rows(lab)
    if not result.ok:
        one_shard_only = {
            "Alice": {"TotalScore": 10, "GamesPlayed": 1},
            "Bob": {"TotalScore": 50, "GamesPlayed": 1},
        }
        if result.actual().get(CHECK_WINDOW["start"]) == one_shard_only:
            fail(exercise, "the second shard's row replaced the first shard's.", SHARD_KEY_HINT)
        fail(
            exercise,
            result.differences()[0].replace("window 1", "the final invocation") + ".",
            hint,
        )
    passed(
        exercise,
        f"{function_name} carried its state across 2 batches, ignored a MODIFY and "
        "wrote each player's window totals on the final invocation, one row per shard",
    )


def windows_written(
    lab: Lab,
    name: str,
    expected: Mapping[str, Mapping[str, Mapping[str, int]]],
    *,
    exercise: str,
    table: str,
    timeout: float | None = None,
    hint: str = "",
) -> None:
    """The window mapping is connected, and each burst's window holds the burst's totals."""
    mapping = _require_mapping(
        lab, table, name, exercise, "run the cell that connects it with TumblingWindowInSeconds."
    )
    if not mapping.get("TumblingWindowInSeconds"):
        fail(exercise, "the mapping has no TumblingWindowInSeconds.", hint)
    result = analytics.wait_for_windows(lab, expected, timeout=_timeout(lab, timeout))
    if not result.ok:
        fail(exercise, result.differences()[0] + ".", hint)
    passed(
        exercise, f"{len(expected)} window(s), each player's totals equal to that window's games"
    )
