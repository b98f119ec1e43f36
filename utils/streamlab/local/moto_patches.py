"""Corrections applied to moto inside the emulator process, at one boundary.

moto's DynamoDB stream shard invokes Lambda synchronously inside the write
(through Docker, which learners rarely have) and then drops the shard's
records; and moto keeps one shard per stream, where AWS has several that close
and roll over into children. We give every table with a stream a
``stream_shards.ShardedStream`` in place of moto's shard: it only appends
records (to the shard of the item's key), skips writes that changed nothing
(AWS writes no record for those), and tells listeners (the pollers) that the
table has new records, so they wake at once. moto's DescribeStream,
GetShardIterator and GetRecords are taught to find those shards, to paginate
shards as AWS does, and to end a closed shard's iterator chain; to find a
table's previous stream, or a deleted table's stream, by its own ARN
(disabled, readable for 24 hours); and
to keep the stream's limits with AWS's errors: an iterator older than 15
minutes is an ``ExpiredIteratorException``, a read at a trimmed position a
``TrimmedDataAccessException``, a ``Limit`` above 1,000 a
``LimitExceededException`` (``stream_shards`` holds the figures). DynamoDB's
item and query actions first check their expressions as AWS does
(``expressions``: a ``#`` that is not a defined placeholder is refused).

Enabling a stream again after it was disabled gives a new stream (moto
refuses it). Enabling a stream on a table that already has one is, on AWS, a
``ValidationException: Table already has an enabled stream: TableName: NAME``;
moto says ``ResourceInUseException: Cannot enable stream``. Learners must meet
AWS's wording locally (in every profile), so the error is translated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import MockValidationException, StreamAlreadyEnabledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams import models as streams_models
from moto.dynamodbstreams import responses as streams_responses

from . import expressions, stream_shards
from .stream_shards import LabShard, ShardedStream

StreamListener = Callable[[StreamShard], None]

DESCRIBE_STREAM_PAGE = 100  # AWS's largest (and default) DescribeStream page of shards
ITERATOR_EXPIRED = "The provided iterator exceeds the maximum age allowed."
DATA_TRIMMED = "The data you are trying to access has been trimmed"
LIMIT_ABOVE_1000 = (
    "GetRecords was called with a value of more than 1000 for the limit request parameter."
)
SWEEP_EVERY = 200  # iterators handed out between sweeps of expired ones

_listeners: list[StreamListener] = []
_listeners_lock = threading.Lock()
_applied = False


def add_stream_listener(listener: StreamListener) -> None:
    """Call ``listener(shard)`` after every record appended to any stream shard."""
    with _listeners_lock:
        _listeners.append(listener)


def remove_stream_listener(listener: StreamListener) -> None:
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _notify(shard: StreamShard) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(shard)


def _no_trigger(self: StreamShard, old: Any, new: Any) -> None:
    """moto's own shard must never run its Docker trigger; every stream is sharded instead."""
    raise RuntimeError("moto's single stream shard is replaced by stream_shards.ShardedStream")


_original_set_stream_specification = Table.set_stream_specification


def _set_stream_specification(self: Table, streams: dict[str, Any] | None) -> None:
    before = self.stream_shard
    _original_set_stream_specification(self, streams)
    if self.stream_shard is not before and not isinstance(self.stream_shard, ShardedStream):
        self.stream_shard = ShardedStream(self, stream_shards.current_policy(), _notify)
        if isinstance(before, ShardedStream):  # enabled again: a new ARN; the old stays readable
            stream_shards.retire(before)
    elif isinstance(before, ShardedStream) and not self.stream_specification.get("StreamEnabled"):
        before.close_all()  # AWS: a disabled stream's shards end; records stay readable


def _shard_not_found(shard_id: str) -> JsonRESTError:
    return JsonRESTError(
        "ResourceNotFoundException",
        f"Requested resource not found: Shard does not exist ({shard_id})",
    )


def _stream_not_found(arn: str) -> JsonRESTError:
    return JsonRESTError(
        "ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found"
    )


def _stream_of(backend: Any, arn: str) -> ShardedStream | None:
    """The stream ``arn`` names (the table's current one or a disabled one still readable);
    None when the table keeps moto's own shard; ResourceNotFoundException when it is gone."""
    try:
        table = backend._get_table_from_arn(arn)
    except Exception:  # the table is deleted: its stream stays readable for 24 hours
        stream = stream_shards.retired_stream(arn)
        if stream is None:
            raise _stream_not_found(arn) from None
        return stream
    if not isinstance(table.stream_shard, ShardedStream):
        return None
    stream = stream_shards.find_stream(table, arn.rsplit("/stream/", 1)[-1])
    if stream is None:
        raise _stream_not_found(arn)
    return stream


def _describe_stream(self: Any, arn: str) -> dict[str, Any]:
    sharded = _stream_of(self, arn)
    if sharded is None:
        return _original_describe_stream(self, arn)
    table = sharded.table
    current = table.stream_shard is sharded
    enabled = (
        current
        and sharded.enabled
        and bool((table.stream_specification or {}).get("StreamEnabled"))
    )
    return {  # moto's fields, also for a disabled stream (moto fails on those)
        "StreamArn": arn,
        "StreamLabel": sharded.label,
        "StreamStatus": "ENABLED" if enabled else "DISABLED",
        "StreamViewType": sharded.view_type,
        "CreationRequestDateTime": sharded.created_on,
        "TableName": table.name,
        "KeySchema": table.schema,
        "Shards": sharded.describe_shards(),
    }


def _get_shard_iterator(
    self: Any, arn: str, shard_id: str, shard_iterator_type: str, sequence_number: Any = None
) -> Any:
    sharded = _stream_of(self, arn)
    if sharded is None:
        return _original_get_shard_iterator(self, arn, shard_id, shard_iterator_type,
                                            sequence_number)
    sharded.roll_over_due()
    shard = sharded.shard(shard_id)
    if shard is None:
        raise _shard_not_found(shard_id)
    iterator = streams_models.ShardIterator(self, shard, shard_iterator_type, sequence_number)
    if shard_iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and (
        shard.is_trimmed_at(iterator.sequence_number)
    ):
        raise JsonRESTError("TrimmedDataAccessException", DATA_TRIMMED)
    _sweep_expired(self)
    self.shard_iterators[iterator.arn] = iterator
    return iterator


def _expired(iterator: Any) -> bool:
    shard = iterator.stream_shard
    if not isinstance(shard, LabShard):
        return False
    policy = shard.stream.policy
    life = policy.iterator_seconds
    return life is not None and policy.clock() - iterator.handed_out_at >= life


_sweeps = {"calls": 0}


def _sweep_expired(backend: Any) -> None:
    """Forget expired iterators now and then: moto keeps every iterator it ever made, and a
    live viewer that polls four times a second makes 14,400 an hour."""
    _sweeps["calls"] += 1
    if _sweeps["calls"] % SWEEP_EVERY:
        return
    for key in [key for key, it in backend.shard_iterators.items() if _expired(it)]:
        del backend.shard_iterators[key]


def _get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
    """GetRecords: an iterator swept after it expired is still an expired one, not a 500."""
    iterator = self.shard_iterators.get(iterator_arn)
    if iterator is None:
        if "/stream/" in iterator_arn and "|" in iterator_arn:
            raise JsonRESTError("ExpiredIteratorException", ITERATOR_EXPIRED)
        raise MockValidationException("Invalid ShardIterator")
    return iterator.get(limit)


def _iterator_init(self: Any, streams_backend: Any, stream_shard: Any, kind: str,
                   sequence_number: Any = None) -> None:
    _original_iterator_init(self, streams_backend, stream_shard, kind, sequence_number)
    if isinstance(stream_shard, LabShard):
        self.handed_out_at = stream_shard.stream.policy.clock()
        if kind == "LATEST":
            self.sequence_number = stream_shard.latest_sequence_number()
        elif kind == "TRIM_HORIZON":
            self.sequence_number = stream_shard.trim_horizon()


def _iterator_get(self: Any, limit: int = 1000) -> dict[str, Any]:
    shard = self.stream_shard
    if isinstance(shard, LabShard):
        if _expired(self):
            raise JsonRESTError("ExpiredIteratorException", ITERATOR_EXPIRED)
        if shard.is_trimmed_at(self.sequence_number):
            raise JsonRESTError("TrimmedDataAccessException", DATA_TRIMMED)
        shard.stream.roll_over_due()
        _sweep_expired(self.streams_backend)  # every answer hands out a new iterator
    result = _original_iterator_get(self, limit)
    if isinstance(shard, LabShard):
        following = self.streams_backend.shard_iterators[result["NextShardIterator"]]
        if shard.exhausted_from(following.sequence_number):
            # AWS: past the end of a closed shard there is no next iterator
            del self.streams_backend.shard_iterators[result["NextShardIterator"]]
            del result["NextShardIterator"]
    return result


def _handler_describe_stream(self: Any) -> Any:
    """DescribeStream with AWS's paging of shards (``Limit``, ``ExclusiveStartShardId``)."""
    result = _original_handler_describe_stream(self)
    description = result.result["StreamDescription"] if hasattr(result, "result") else None
    if description is None:
        return result
    limit = self._get_param("Limit") or DESCRIBE_STREAM_PAGE
    limit = max(1, min(int(limit), DESCRIBE_STREAM_PAGE))
    shards = description.get("Shards", [])
    start = self._get_param("ExclusiveStartShardId")
    if start:
        ids = [shard["ShardId"] for shard in shards]
        shards = shards[ids.index(start) + 1 :] if start in ids else []
    description["Shards"] = shards[:limit]
    description.pop("LastEvaluatedShardId", None)
    if len(shards) > limit:
        description["LastEvaluatedShardId"] = shards[limit - 1]["ShardId"]
    return result


def _handler_get_records(self: Any) -> Any:
    """GetRecords' ``Limit``: at most 1,000. AWS's API reference lists this case under
    ``LimitExceededException`` ("GetRecords was called with a value of more than 1000 for
    the limit request parameter"); botocore itself checks the minimum of 1."""
    limit = self._get_param("Limit")
    if isinstance(limit, int) and limit > stream_shards.GET_RECORDS_MAX_RECORDS:
        raise JsonRESTError("LimitExceededException", LIMIT_ABOVE_1000)
    return _original_handler_get_records(self)


EXPRESSION_ACTIONS = (
    "query",
    "scan",
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "batch_get_item",
    "transact_get_items",
    "transact_write_items",
)


def _checking_expressions(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(self: Any) -> Any:
        try:
            expressions.check_request(self.body)
        except expressions.ExpressionError as exc:
            raise MockValidationException(str(exc)) from exc
        return action(self)

    checked.__name__ = action.__name__
    checked.__wrapped__ = action  # type: ignore[attr-defined]
    return checked


_original_describe_stream = streams_models.DynamoDBStreamsBackend.describe_stream
_original_get_shard_iterator = streams_models.DynamoDBStreamsBackend.get_shard_iterator
_original_iterator_init = streams_models.ShardIterator.__init__
_original_iterator_get = streams_models.ShardIterator.get
_original_handler_describe_stream = streams_responses.DynamoDBStreamsHandler.describe_stream
_original_handler_get_records = streams_responses.DynamoDBStreamsHandler.get_records


def _keeping_the_stream(original):  # noqa: ANN001, ANN202 - moto's method
    """DeleteTable: AWS disables the table's stream and keeps it readable for 24 hours."""

    def delete_table(self, name):  # noqa: ANN001, ANN202
        try:
            stream = self.get_table(name).stream_shard
        except Exception:  # moto answers for a table that is not there
            stream = None
        deleted = original(self, name)
        if isinstance(stream, ShardedStream):
            stream_shards.retire(stream)
        return deleted

    return delete_table


def _with_aws_stream_wording(original):  # noqa: ANN001, ANN202 - moto's method
    def update_table_streams(self, table, stream_specification):  # noqa: ANN001, ANN202
        enabling = stream_specification.get("StreamEnabled")
        if enabling and not (table.stream_specification or {}).get("StreamEnabled"):
            # AWS: a disabled stream can be enabled again (a new stream, a new ARN);
            # moto refuses it because the table still has a stream label
            return table.set_stream_specification(stream_specification)
        try:
            return original(self, table, stream_specification)
        except StreamAlreadyEnabledException:
            raise MockValidationException(
                f"Table already has an enabled stream: TableName: {table.name}"
            ) from None

    return update_table_streams


def apply() -> None:
    """Install the corrections (idempotent)."""
    global _applied
    if _applied:
        return
    StreamShard.add = _no_trigger
    Table.set_stream_specification = _set_stream_specification
    streams_models.DynamoDBStreamsBackend.describe_stream = _describe_stream
    streams_models.DynamoDBStreamsBackend.get_shard_iterator = _get_shard_iterator
    streams_models.ShardIterator.__init__ = _iterator_init
    streams_models.ShardIterator.get = _iterator_get
    streams_responses.DynamoDBStreamsHandler.describe_stream = _handler_describe_stream
    streams_responses.DynamoDBStreamsHandler.get_records = _handler_get_records
    streams_models.DynamoDBStreamsBackend.get_records = _get_records
    for name in EXPRESSION_ACTIONS:
        setattr(DynamoHandler, name, _checking_expressions(getattr(DynamoHandler, name)))
    DynamoDBBackend.delete_table = _keeping_the_stream(DynamoDBBackend.delete_table)
    DynamoDBBackend.update_table_streams = _with_aws_stream_wording(
        DynamoDBBackend.update_table_streams
    )
    _applied = True
