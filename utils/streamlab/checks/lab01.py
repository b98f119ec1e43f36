"""Lab 01's checks: tables, items, queries and scans, read back from the backend."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamlab.aws import tables
from streamlab.aws.session import Lab
from streamlab.checks.exercise import call_learner, fail, passed


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
            fail(exercise, _difference(name, item.get(name), value), hint)
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


_TYPE_NAMES = {
    "S": "a string", "N": "a number", "B": "binary", "BOOL": "a boolean", "NULL": "null",
    "SS": "a string set", "NS": "a number set", "BS": "a binary set", "L": "a list",
    "M": "a map",
}


def _kind(value: Any) -> str:
    """``S, a string``: the DynamoDB type a plain value is stored as."""
    code = next(iter(tables.to_typed({"v": value})["v"])) if value is not None else "NULL"
    return f"{code}, {_TYPE_NAMES.get(code, code)}"


def _first_difference(actual: Any, expected: Any, path: str) -> tuple[str, Any, Any]:
    """Where two plain values first differ: inside maps and lists, down to one value."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            if actual.get(key) != expected.get(key):
                return _first_difference(actual.get(key), expected.get(key), f"{path}.{key}")
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for index, (mine, theirs) in enumerate(zip(actual, expected, strict=True)):
            if mine != theirs:
                return _first_difference(mine, theirs, f"{path}[{index}]")
    return path, actual, expected


def _difference(name: str, actual: Any, expected: Any) -> str:
    """What is wrong with an attribute, with types where the text alone looks the same
    (a number stored as the string "14" prints as 14 too)."""
    text = (
        f"attribute {name} is {tables.format_value(actual)}, "
        f"expected {tables.format_value(expected)}"
    )
    path, mine, theirs = _first_difference(actual, expected, name)
    if mine is None:
        return f"{text}: {path} is missing."
    if tables.format_value(mine) == tables.format_value(theirs) or path != name:
        return (
            f"{text}: {path} is {tables.format_value(mine)} (type {_kind(mine)}), "
            f"expected {tables.format_value(theirs)} (type {_kind(theirs)})."
        )
    return f"{text}."


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
    return tables.plain_value(dict(item))


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
        response = call_learner(exercise, function, value, hint=hint)
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
        response = call_learner(exercise, function, argument, hint=hint)
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
