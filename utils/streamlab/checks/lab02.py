"""Lab 02's checks: the stream is on, and the learner's readers and decoders are right."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

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


# AWS's GetRecords reference (the page lab 02 cites): a page is empty when the part of the shard
# the iterator points to holds no records, and several calls may be needed to reach the part
# that does; a missing NextShardIterator means the shard is closed.
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html
STOPPED_AT_AN_EMPTY_PAGE = (
    "GetRecords may return an empty page before records that are there (AWS documents it; the "
    "check gives your reader one at the start of each shard): stop an open shard after a few "
    "empty pages in a row, or at the newest sequence number you need, and a closed one when "
    "NextShardIterator is missing."
)
EVERY_SHARD_HINT = (
    "loop over every shard of describe_stream(...)['StreamDescription']['Shards'] "
    "(parents before children), not just the first."
)
PARENTS_FIRST_HINT = (
    "read a shard's ParentShardId before the shard itself: a key's older records are in the parent."
)


def _records_by_shard(lab: Lab, arn: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every record (shard by shard, parents first) and the shard of each sequence number."""
    records: list[dict[str, Any]] = []
    shard_of: dict[str, str] = {}
    for shard in streams.list_shards(lab, arn):
        iterator = lab.dynamodbstreams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.read_shard(lab, iterator, max_empty_reads=3):
            records.append(record)
            shard_of[record["dynamodb"]["SequenceNumber"]] = shard["ShardId"]
    return records, shard_of


@dataclass
class _ReaderTrace:
    """What the learner's reader asked of the stream (through the hooked client)."""

    shards_asked: set[str] = field(default_factory=set)  # got an iterator for
    fresh: dict[str, str] = field(default_factory=dict)  # iterator -> shard, not read yet
    emptied: dict[str, str] = field(default_factory=dict)  # answered empty, not followed yet

    @property
    def stopped_at_empty(self) -> set[str]:
        """Shards whose reader stopped at the empty first page the check gave it."""
        return set(self.emptied.values())


def _body(params: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(params.get("body") or b"{}")
    except (TypeError, ValueError):
        return {}


@contextmanager
def _empty_page_first(client: Any) -> Iterator[_ReaderTrace]:
    """While the learner's reader runs on ``client``: the first GetRecords of each iterator
    from GetShardIterator answers an empty page (as AWS may) whose NextShardIterator is that
    same iterator, so a reader that goes on gets the records, and one that stops there is a
    reader that would miss records on AWS. Traces which shards the reader asked for."""
    trace = _ReaderTrace()
    service = client.meta.service_model.service_id.hyphenize()

    def note_shard(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["streamlab_shard"] = _body(params).get("ShardId")

    def remember_iterator(parsed: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        shard, iterator = context.get("streamlab_shard"), parsed.get("ShardIterator")
        if shard and iterator:
            trace.shards_asked.add(shard)
            trace.fresh[iterator] = shard

    def empty_first(params: Mapping[str, Any], **_: Any) -> Any:
        iterator = _body(params).get("ShardIterator")
        trace.emptied.pop(iterator, None)  # followed past the empty page
        if iterator not in trace.fresh:
            return None  # the real call
        trace.emptied[iterator] = trace.fresh.pop(iterator)
        return AWSResponse("", 200, {}, None), {
            "Records": [],
            "NextShardIterator": iterator,
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }

    events = client.meta.events
    hooks = [
        (f"before-call.{service}.GetShardIterator", note_shard),
        (f"after-call.{service}.GetShardIterator", remember_iterator),
        (f"before-call.{service}.GetRecords", empty_first),
    ]
    for event, hook in hooks:
        events.register(event, hook)
    try:
        yield trace
    finally:
        for event, hook in hooks:
            events.unregister(event, hook)


def _out_of_order_key(records: Sequence[Mapping[str, Any]]) -> str | None:
    """A key whose records are not in sequence-number order, if any (shown plainly)."""
    last: dict[str, int] = {}
    for record in records:
        keys = record["dynamodb"].get("Keys", {})
        key = ", ".join(
            f"{name}={tables.format_value(value)}"
            for name, value in (tables.to_plain(keys) or {}).items()
        )
        number = int(record["dynamodb"]["SequenceNumber"])
        if number < last.get(key, -1):
            return key
        last[key] = number
    return None


def reads_whole_stream(
    lab: Lab, table: str, function: Callable[[str], Any], *, exercise: str, hint: str = ""
) -> None:
    """``function(stream_arn)`` returns every record of every shard, each once, each key's
    records in order (parents before children)."""
    arn = streams.stream_arn(lab, table)
    if arn is None:
        fail(exercise, f"table {table!r} has no stream.", "run the cells above this exercise.")
    expected, shard_of = _records_by_shard(lab, arn)
    with _empty_page_first(lab.dynamodbstreams) as trace:
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
    shard_count = len(streams.list_shards(lab, arn))
    if len(got) != len(set(got)):
        fail(
            exercise,
            f"{len(got) - len(set(got))} record(s) appear more than once.",
            "follow NextShardIterator instead of asking for a new TRIM_HORIZON iterator.",
        )
    if sorted(got) != sorted(wanted):
        missing_shards = {shard_of[n] for n in wanted} - {shard_of.get(n) for n in got}
        first = streams.list_shards(lab, arn)[0]["ShardId"] if shard_count else None
        in_first = {n for n in wanted if shard_of[n] == first}
        read_first_only = (
            trace.shards_asked == {first} if trace.shards_asked else (set(got) == in_first)
        )
        if read_first_only and shard_count > 1:
            fail(
                exercise,
                f"your function returned {len(got)} of the {len(wanted)} records: it read only "
                f"the first of the stream's {shard_count} shards.",
                EVERY_SHARD_HINT,
            )
        never_asked = missing_shards - trace.shards_asked if trace.shards_asked else set()
        stopped = missing_shards & trace.stopped_at_empty
        if stopped and not never_asked:
            fail(
                exercise,
                f"your function returned {len(got)} of the {len(wanted)} records: it stopped "
                f"reading {len(stopped)} shard(s) at an empty page.",
                STOPPED_AT_AN_EMPTY_PAGE,
            )
        if set(got) < set(wanted) and missing_shards:
            fail(
                exercise,
                f"your function returned {len(got)} of the {len(wanted)} records: "
                f"{len(missing_shards)} of the stream's {shard_count} shards were not read.",
                EVERY_SHARD_HINT,
            )
        fail(
            exercise,
            f"your function returned {len(got)} record(s); the stream holds {len(wanted)}.",
            hint,
        )
    key = _out_of_order_key(records)
    if key is not None:
        fail(exercise, f"the records of {key} are not in the order they were written.",
             PARENTS_FIRST_HINT)
    events = ", ".join(record["eventName"] for record in expected)
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
    hint = hint or (
        "turn every value with TypeDeserializer().deserialize(value): it converts maps, lists "
        "and sets inside too."
    )
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
    hint = hint or (
        "use {} for a missing image, then look at every name in either image ({**old, **new}), "
        "keeping (old.get(name), new.get(name)) where they differ."
    )
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
