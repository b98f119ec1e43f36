"""Lab 02's checks: the stream is on, and the learner's readers and decoders are right."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamlab.aws import streams, tables
from streamlab.aws.session import Lab
from streamlab.checks.exercise import call_learner, fail, passed


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


READER_SECONDS = 30.0
NEVER_STOPS = (
    "an open shard always returns a NextShardIterator, so a loop that follows it never "
    "ends: stop when a page is empty and you have reached the newest record you need "
    "(or after a few empty pages in a row), or when NextShardIterator is missing (a "
    "closed shard)."
)


def reads_whole_stream(
    lab: Lab, table: str, function: Callable[[str], Any], *, exercise: str, hint: str = ""
) -> None:
    """``function(stream_arn)`` returns every record of every shard, each once."""
    arn = streams.stream_arn(lab, table)
    if arn is None:
        fail(exercise, f"table {table!r} has no stream.", "run the cells above this exercise.")
    expected = streams.read_records(lab, arn)
    records = call_learner(
        exercise, function, arn, hint=hint, seconds=READER_SECONDS, too_slow=NEVER_STOPS
    )
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
        result = call_learner(exercise, function, image, hint=hint)
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
        result = call_learner(exercise, function, old, new, hint=hint)
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
