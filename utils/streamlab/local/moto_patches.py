"""Corrections applied to moto inside the emulator process, at one boundary.

moto's DynamoDB stream shard invokes Lambda synchronously inside the write
(through Docker, which learners rarely have) and then drops the shard's
records. We replace the shard's ``add`` so that it only appends the record,
skips writes that changed nothing (AWS writes no record for those), and tells
listeners (the pollers) that the table has new records, so they wake at once.

Enabling a stream on a table that already has one is, on AWS, a
``ValidationException: Table already has an enabled stream: TableName: NAME``;
moto says ``ResourceInUseException: Cannot enable stream``. Learners must meet
AWS's wording locally (in every profile), so the error is translated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from moto.dynamodb.exceptions import MockValidationException, StreamAlreadyEnabledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamRecord, StreamShard

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


def _with_aws_stream_wording(original):  # noqa: ANN001, ANN202 - moto's method
    def update_table_streams(self, table, stream_specification):  # noqa: ANN001, ANN202
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
    StreamShard.add = _append_record_without_trigger
    DynamoDBBackend.update_table_streams = _with_aws_stream_wording(
        DynamoDBBackend.update_table_streams
    )
    _applied = True
