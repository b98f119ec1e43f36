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

from . import tables
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
        fail(exercise, f"there is no table {table!r} yet.",
             "call lab.dynamodb.create_table(TableName=..., KeySchema=..., "
             "AttributeDefinitions=..., BillingMode='PAY_PER_REQUEST').")
    if description["TableStatus"] != "ACTIVE":
        description = tables.wait_until_active(lab, table)
    keys = tables.key_schema_of(description)
    wanted = {"HASH": tuple(hash_key), **({"RANGE": tuple(range_key)} if range_key else {})}
    if keys != wanted:
        shown, asked = _keys_text(keys), _keys_text(wanted)
        fail(exercise, f"table {table!r} has keys {shown}, the exercise asks for {asked}.",
             "keys cannot change after creation: delete the table "
             f"(tables.delete_table(lab, {table!r})) and create it again.")
    if tables.billing_mode_of(description) != "PAY_PER_REQUEST":
        fail(exercise, f"table {table!r} uses provisioned capacity.",
             "pass BillingMode='PAY_PER_REQUEST' (on-demand: an idle table costs nothing).")
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
            fail(exercise, f"attribute {name} is {tables.format_value(item.get(name))}, "
                 f"expected {tables.format_value(value)}.", hint)
    for name in absent:
        if name in item:
            fail(exercise, f"the item has {name}, but this item should not have it at all.",
                 "attributes are optional: leave it out of the item rather than storing an "
                 "empty value.")
    for name, kind in (types or {}).items():
        if name not in typed:
            fail(exercise, f"the item has no attribute {name} (of type {kind}).", hint)
        if _type_of(typed[name]) != kind:
            fail(exercise, f"{name} is stored as type {_type_of(typed[name])}, expected {kind}.",
                 hint)
    described = ", ".join(
        [f"{name}={tables.format_value(value)}" for name, value in expected.items()]
        + [f"{name} ({kind})" for name, kind in (types or {}).items()]
    )
    missing = f"; no {', '.join(absent)}" if absent else ""
    passed(exercise, f"item {tables.format_value(dict(key))} has {described}{missing}")
