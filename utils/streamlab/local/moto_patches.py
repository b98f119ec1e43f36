"""Corrections applied to moto inside the emulator process, at one boundary.

moto's DynamoDB stream shard invokes Lambda synchronously inside the write
(through Docker, which learners rarely have) and then drops the shard's
records. We replace the shard's ``add`` so that it only appends the record,
skips writes that changed nothing (AWS writes no record for those), and tells
listeners (the pollers) that the table has new records, so they wake at once.

Enabling a stream on a table whose stream is already enabled is, on AWS, a
``ValidationException`` ("Table already has an enabled stream: TableName: T"),
not moto's ``ResourceInUseException``; and a stream that was disabled can be
enabled again (a new stream, with a new label). ``update_table_streams`` does both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table

StreamListener = Callable[[StreamShard], None]

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


def _append_record_without_trigger(self: StreamShard, old, new) -> None:  # noqa: ANN001
    if old is not None and new is not None and old.to_json() == new.to_json():
        return  # AWS: a write that does not change the item writes no stream record
    view_type = self.table.stream_specification["StreamViewType"]
    if old is None:
        event_name = "INSERT"
    elif new is None:
        event_name = "REMOVE"
    else:
        event_name = "MODIFY"
    sequence = len(self.items) + self.starting_sequence_number
    self.items.append(StreamRecord(self.table, view_type, event_name, old, new, sequence))
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(self)


def _update_table_streams(
    self: DynamoDBBackend, table: Table, stream_specification: dict[str, Any]
) -> None:
    enabling = stream_specification.get("StreamEnabled") or stream_specification.get(
        "StreamViewType"
    )
    if enabling and (table.stream_specification or {}).get("StreamEnabled"):
        raise MockValidationException(
            f"Table already has an enabled stream: TableName: {table.name}"
        )
    table.set_stream_specification(stream_specification)


def apply() -> None:
    """Install the corrections (idempotent)."""
    global _applied
    if _applied:
        return
    StreamShard.add = _append_record_without_trigger
    DynamoDBBackend.update_table_streams = _update_table_streams
    _applied = True
