"""Exercise checks: read the real backend, print one PASS line, or teach.

A check never trusts the notebook's variables when the backend can answer (a
table's key schema, an item, a stream's view type). It prints
``PASS 1.2: ...`` when all is well. Otherwise it raises ``CheckFailed`` with
what is wrong and a hint, or, when the exercise's TODO stub is what ran,
``ExerciseNotDone`` with the exercise's instruction. Both are ``LabError``s,
which notebooks show as one line, never as a traceback.

Checks that test a function the learner wrote call it with a few inputs and
compare with the kit's own answer; an error inside the learner's function is
reported as one line, with the hint.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from . import streams, tables
from .errors import CheckFailed, ExerciseNotDone, LabError
from .session import Lab


def passed(exercise: str, message: str) -> None:
    """Print the PASS line and forget that the exercise's stub ever ran."""
    ExerciseNotDone.pending.pop(exercise, None)
    print(f"PASS {exercise}: {message}")


def fail(exercise: str, problem: str, hint: str = "") -> NoReturn:
    """Raise "not done yet" if the exercise's stub ran last, else the problem and a hint."""
    if exercise in ExerciseNotDone.pending:
        raise ExerciseNotDone(exercise, ExerciseNotDone.pending[exercise])
    raise CheckFailed(exercise, problem, hint)


def _call(exercise: str, function: Callable[..., Any], *args: Any, hint: str = "") -> Any:
    """Call the learner's function; its own error becomes one line (stubs pass through)."""
    if not callable(function):
        fail(exercise, f"expected a function, got {type(function).__name__}.", hint)
    try:
        return function(*args)
    except ExerciseNotDone:
        raise
    except Exception as exc:  # the learner's bug: say which, in one line
        error = getattr(exc, "response", {}).get("Error", {})
        if error:
            text = f"{error.get('Code')}: {error.get('Message')}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        fail(exercise, f"{getattr(function, '__name__', 'your function')} raised {text}", hint)


# -- lab 00 ------------------------------------------------------------------------


def environment_ready(lab: Lab) -> None:
    """Python, packages and a round trip to the backend, one PASS line each (lab 00)."""
    from .doctor import check_packages, check_python

    results = [check_python(), *check_packages()]
    for result in results:
        if not result.ok:
            raise LabError(f"{result.name}: {result.detail}")
    print(f"PASS python {sys.version_info.major}.{sys.version_info.minor} (3.10 or newer)")
    print(f"PASS packages: {', '.join(r.name for r in results[1:])} installed as the kit needs")
    try:
        lab.dynamodb.list_tables(Limit=1)
        account = lab.account_id
    except LabError:
        raise
    except Exception as exc:
        raise LabError(
            f"The {lab.backend} backend did not answer ({type(exc).__name__}: {exc}); "
            "run `streamlab doctor` in a terminal for details."
        ) from None
    where = "the local emulator" if lab.backend == "local" else f"AWS region {lab.region}"
    print(f"PASS backend: DynamoDB answers on {where} (account {account})")


# -- tables and items ----------------------------------------------------------------


def table_ready(
    lab: Lab,
    table: str,
    *,
    exercise: str,
    hash_key: tables.KeySpec,
    range_key: tables.KeySpec | None = None,
) -> None:
    """The table exists, is ACTIVE, has exactly these keys and on-demand billing."""
    description = tables.describe(lab, table)
    if description is None:
        fail(
            exercise,
            f"there is no table {table!r} yet.",
            "call lab.dynamodb.create_table(TableName=..., KeySchema=..., "
            "AttributeDefinitions=..., BillingMode='PAY_PER_REQUEST').",
        )
    if description["TableStatus"] != "ACTIVE":
        description = tables.wait_until_active(lab, table)
    keys = tables.key_schema_of(description)
    wanted = {"HASH": tuple(hash_key), **({"RANGE": tuple(range_key)} if range_key else {})}
    if keys != wanted:
        shown, asked = _keys_text(keys), _keys_text(wanted)
        fail(
            exercise,
            f"table {table!r} has keys {shown}, the exercise asks for {asked}.",
            "keys cannot change after creation: delete the table "
            f"(tables.delete_table(lab, {table!r})) and create it again.",
        )
    if tables.billing_mode_of(description) != "PAY_PER_REQUEST":
        fail(
            exercise,
            f"table {table!r} uses provisioned capacity.",
            "pass BillingMode='PAY_PER_REQUEST' (on-demand: an idle table costs nothing).",
        )
    key_text = " + ".join(f"{name} ({kind})" for _role, (name, kind) in sorted(keys.items()))
    passed(exercise, f"table {table} is ACTIVE with key {key_text}, on-demand billing")


def _keys_text(keys: Mapping[str, tuple[str, str]]) -> str:
    return ", ".join(f"{role} {name} ({kind})" for role, (name, kind) in sorted(keys.items()))


def _type_of(typed_value: Mapping[str, Any]) -> str:
    return next(iter(typed_value))


def item_matches(
    lab: Lab,
    table: str,
    key: Mapping[str, Any],
    *,
    exercise: str,
    expected: Mapping[str, Any],
    absent: Sequence[str] = (),
    types: Mapping[str, str] | None = None,
    hint: str = "",
) -> None:
    """The item with ``key`` has the ``expected`` plain values, lacks ``absent``,
    and its attributes have the DynamoDB ``types`` given (e.g. ``{"Badges": "SS"}``)."""
    response = lab.dynamodb.get_item(TableName=table, Key=tables.to_typed(key), ConsistentRead=True)
    typed = response.get("Item")
    if typed is None:
        fail(exercise, f"no item with key {tables.format_value(dict(key))} in {table!r}.", hint)
    item = tables.to_plain(typed)
    for name, value in expected.items():
        if item.get(name) != value:
            fail(
                exercise,
                f"attribute {name} is {tables.format_value(item.get(name))}, "
                f"expected {tables.format_value(value)}.",
                hint,
            )
    for name in absent:
        if name in item:
            fail(
                exercise,
                f"the item has {name}, but this item should not have it at all.",
                "attributes are optional: leave it out of the item rather than storing an "
                "empty value.",
            )
    for name, kind in (types or {}).items():
        if name not in typed:
            fail(exercise, f"the item has no attribute {name} (of type {kind}).", hint)
        if _type_of(typed[name]) != kind:
            fail(
                exercise,
                f"{name} is stored as type {_type_of(typed[name])}, expected {kind}.",
                hint,
            )
    types = dict(types or {})
    parts = []
    for name, value in expected.items():
        kind = f" ({types[name]})" if name in types else ""
        parts.append(f"{name}={tables.format_value(value)}{kind}")
    parts.extend(f"{name} ({kind})" for name, kind in types.items() if name not in expected)
    described = ", ".join(parts)
    missing = f"; no {', '.join(absent)}" if absent else ""
    passed(exercise, f"item {tables.format_value(dict(key))} has {described}{missing}")


# -- query and scan ------------------------------------------------------------------

_TYPE_CODES = {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}


def _as_plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item from the client (typed) or from the resource API (plain), as plain values."""
    typed = all(
        isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _TYPE_CODES
        for value in item.values()
    )
    if typed:
        return tables.to_plain(item) or {}
    return tables._plain(dict(item))


def _response_items(exercise: str, response: Any, operation: str, hint: str) -> list[dict]:
    if not isinstance(response, Mapping) or "Items" not in response:
        fail(
            exercise,
            f"your function returned {type(response).__name__}, not the {operation} response.",
            f"return the whole answer of lab.dynamodb.{operation}(...). {hint}",
        )
    return [_as_plain(item) for item in response["Items"]]


def query_by_hash_key(
    lab: Lab,
    table: str,
    function: Callable[[Any], Any],
    *,
    exercise: str,
    values: Sequence[Any],
    hint: str = "",
) -> None:
    """``function(value)`` returns the Query response with the items whose hash key is
    ``value``, in range-key order, having read no other item."""
    description = tables.describe(lab, table)
    if description is None:
        fail(exercise, f"there is no table {table!r}.", "run the cells above this exercise first.")
    keys = tables.key_schema_of(description)
    hash_name = keys["HASH"][0]
    range_name = keys.get("RANGE", (None,))[0]
    everything = tables.scan_all(lab, table)
    read_texts = []
    for value in values:
        response = _call(exercise, function, value, hint=hint)
        items = _response_items(exercise, response, "query", hint)
        expected = [item for item in everything if item.get(hash_name) == value]
        if range_name:
            expected.sort(key=lambda item: item[range_name])
        if items != expected:
            got = [tables.format_value(item) for item in items]
            fail(
                exercise,
                f"{getattr(function, '__name__', 'function')}({value!r}) returned "
                f"{got}, expected {len(expected)} item(s) with {hash_name} = {value!r}.",
                hint,
            )
        scanned = response.get("ScannedCount", len(items))
        if scanned != len(items):
            fail(
                exercise,
                f"the request read {scanned} items to return {len(items)}: that is a "
                "scan with a filter, not a query.",
                f"use lab.dynamodb.query with KeyConditionExpression on {hash_name}.",
            )
        read_texts.append(
            f"{getattr(function, '__name__', 'function')}({value!r}) returned {len(items)}, "
            f"read {scanned}"
        )
    passed(exercise, "; ".join(read_texts) + ": a query reads only the items it returns")


def scan_with_filter(
    lab: Lab,
    table: str,
    function: Callable[[Any], Any],
    *,
    exercise: str,
    cases: Mapping[Any, Callable[[Mapping[str, Any]], bool]],
    hint: str = "",
) -> None:
    """``function(argument)`` returns the Scan response whose items are those for which
    ``cases[argument](item)`` holds; the PASS line shows how many items it read."""
    everything = tables.scan_all(lab, table)
    key_names = [name for name, _kind in tables.key_schema_of(tables.describe(lab, table)).values()]

    def key_of(item: Mapping[str, Any]) -> tuple:
        return tuple(item.get(name) for name in key_names)

    lines = []
    for argument, predicate in cases.items():
        response = _call(exercise, function, argument, hint=hint)
        items = _response_items(exercise, response, "scan", hint)
        got = sorted(key_of(item) for item in items)
        expected = sorted(key_of(item) for item in everything if predicate(item))
        if got != expected:
            fail(
                exercise,
                f"{getattr(function, '__name__', 'function')}({argument!r}) returned "
                f"{len(got)} item(s) with keys {got}, expected {expected}.",
                hint,
            )
        lines.append(
            f"{getattr(function, '__name__', 'function')}({argument!r}) returned {len(items)} "
            "but read "
            f"{response.get('ScannedCount', len(items))}"
        )
    passed(exercise, "; ".join(lines) + ": a scan reads every item, the filter only drops some")


# -- streams -------------------------------------------------------------------------


def stream_enabled(lab: Lab, table: str, *, exercise: str, view_type: str) -> None:
    """The table's stream is on, with ``view_type``."""
    description = tables.describe(lab, table)
    if description is None:
        fail(exercise, f"there is no table {table!r}.", "run the cells above this exercise first.")
    spec = description.get("StreamSpecification") or {}
    hint = (
        f"lab.dynamodb.update_table(TableName=..., StreamSpecification="
        f"{{'StreamEnabled': True, 'StreamViewType': '{view_type}'}})"
    )
    if not spec.get("StreamEnabled"):
        fail(exercise, f"table {table!r} has no stream turned on.", hint)
    if spec.get("StreamViewType") != view_type:
        fail(
            exercise,
            f"the stream's view type is {spec.get('StreamViewType')}, the exercise asks "
            f"for {view_type}.",
            "a view type cannot change: turn the stream off "
            "(StreamEnabled False), then on again with the right type.",
        )
    passed(exercise, f"{table} has its stream on, view type {view_type}")


def reads_whole_stream(
    lab: Lab, table: str, function: Callable[[str], Any], *, exercise: str, hint: str = ""
) -> None:
    """``function(stream_arn)`` returns every record of every shard, each once."""
    arn = streams.stream_arn(lab, table)
    if arn is None:
        fail(exercise, f"table {table!r} has no stream.", "run the cells above this exercise.")
    expected = streams.read_records(lab, arn)
    records = _call(exercise, function, arn, hint=hint)
    if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
        fail(
            exercise,
            f"your function returned {type(records).__name__}, not a list of records.",
            hint,
        )
    try:
        got = [record["dynamodb"]["SequenceNumber"] for record in records]
    except (KeyError, TypeError):
        fail(
            exercise,
            "the list holds something other than stream records.",
            "extend your list with page['Records'] from each get_records call.",
        )
    wanted = [record["dynamodb"]["SequenceNumber"] for record in expected]
    if len(got) != len(set(got)):
        fail(
            exercise,
            f"{len(got) - len(set(got))} record(s) appear more than once.",
            "follow NextShardIterator instead of asking for a new TRIM_HORIZON iterator.",
        )
    if sorted(got) != sorted(wanted):
        fail(
            exercise,
            f"your function returned {len(got)} record(s); the stream holds {len(wanted)}.",
            hint,
        )
    events = ", ".join(record["eventName"] for record in expected)
    shard_count = len(streams.list_shards(lab, arn))
    passed(exercise, f"all {len(wanted)} records ({events}) from {shard_count} shard(s)")


SAMPLE_IMAGE = {
    "RecordID": {"N": "1"},
    "PlayerName": {"S": "Alison"},
    "Score": {"N": "999"},
    "Ratio": {"N": "0.5"},
    "Verified": {"BOOL": True},
    "Coach": {"NULL": True},
    "Badges": {"SS": ["first-win", "night-owl"]},
    "Levels": {"L": [{"N": "1"}, {"S": "bonus"}]},
    "Device": {"M": {"os": {"S": "android"}, "version": {"N": "14"}}},
    "Avatar": {"B": b"PNG"},
}


def image_function(function: Callable[[Any], Any], *, exercise: str, hint: str = "") -> None:
    """``function(typed_image)`` returns the same values as plain Python."""
    for image in (SAMPLE_IMAGE, {"RecordID": {"N": "2"}}, {}):
        result = _call(exercise, function, image, hint=hint)
        expected = tables.to_plain(image)
        if not isinstance(result, Mapping):
            fail(exercise, f"your function returned {type(result).__name__}, not a dict.", hint)
        if dict(result) != expected:
            wrong = sorted(
                name
                for name in set(expected) | set(result)
                if result.get(name) != expected.get(name)
            )
            fail(
                exercise,
                f"these attributes come out wrong: {', '.join(wrong)} "
                f"(for example {wrong[0]} = {result.get(wrong[0])!r}, expected "
                f"{expected.get(wrong[0])!r}).",
                hint,
            )
    passed(
        exercise,
        f"{getattr(function, '__name__', 'function')} turns every DynamoDB type into plain Python",
    )


_CHANGE_CASES = [
    (
        {"RecordID": 1, "PlayerName": "Alice"},
        {"RecordID": 1, "PlayerName": "Alison"},
        {"PlayerName": ("Alice", "Alison")},
    ),
    (None, {"RecordID": 3, "Score": 777}, {"RecordID": (None, 3), "Score": (None, 777)}),
    ({"RecordID": 2, "Score": 888}, None, {"RecordID": (2, None), "Score": (888, None)}),
    (
        {"RecordID": 1, "NickName": "A"},
        {"RecordID": 1, "Score": 5},
        {"NickName": ("A", None), "Score": (None, 5)},
    ),
    ({"RecordID": 1, "Score": 5}, {"RecordID": 1, "Score": 5}, {}),
]


def changes_function(function: Callable[[Any, Any], Any], *, exercise: str, hint: str = "") -> None:
    """``function(old, new)`` returns ``{attribute: (before, after)}`` for what differs."""
    for old, new, expected in _CHANGE_CASES:
        result = _call(exercise, function, old, new, hint=hint)
        try:
            pairs = {name: tuple(pair) for name, pair in result.items()}
        except (AttributeError, TypeError):
            pairs = None
        if pairs != expected:
            fail(
                exercise,
                f"for old={old} and new={new} your function returned {result!r}, "
                f"expected {expected!r}.",
                hint,
            )
    passed(
        exercise,
        f"{getattr(function, '__name__', 'function')} finds what changed for "
        "MODIFY, INSERT (no old image) and REMOVE (no new image)",
    )
