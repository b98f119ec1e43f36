"""DynamoDB tables that take time: CREATING, UPDATING and DELETING as AWS reports them,
and DescribeStream's quota of 10 calls per second.

moto creates, updates and deletes a table at once. Here ``CreateTable`` and
``DescribeTable`` report ``CREATING`` for a while, and the table's items
cannot be read or written meanwhile (``ResourceNotFoundException``, as on AWS);
``UpdateTable`` reports ``UPDATING``; ``DeleteTable`` answers ``DELETING`` and
the table is removed from moto only when that period ends, so boto3's
``table_exists`` and ``table_not_exists`` waiters meet what they meet on AWS.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from .clock import ProfileClock
from .rate_limit import RateLimiter
from .scheduler import Scheduler
from .wire import Forward, dynamodb_error, pass_on, request_json

NOT_FOUND = "Requested resource not found"
# Operations on a table's items: refused while the table is CREATING or DELETING.
ITEM_OPERATIONS = frozenset({"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan"})
STREAM_RATE_EXCEEDED = "Rate exceeded for DescribeStream: at most 10 calls per second."

TableKey = tuple[str, str, str]  # account, region, table name


class TableProfile:
    """Table statuses over time, for one emulator."""

    def __init__(
        self, clock: ProfileClock, scheduler: Scheduler, moto_lock: threading.RLock
    ) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self._moto_lock = moto_lock
        self._status: dict[TableKey, tuple[str, float]] = {}  # -> (status, until monotonic)
        self._lock = threading.Lock()
        self.describe_stream_quota = RateLimiter(clock.value("streams.describe_stream_per_second"))

    def status(self, key: TableKey) -> str | None:
        """CREATING / UPDATING / DELETING while that period lasts, else None."""
        with self._lock:
            entry = self._status.get(key)
            if entry is None:
                return None
            if time.monotonic() >= entry[1]:
                del self._status[key]
                return None
            return entry[0]

    def _set(self, key: TableKey, status: str, seconds: float) -> None:
        with self._lock:
            self._status[key] = (status, time.monotonic() + seconds)

    def handle(
        self, operation: str, request: Request, forward: Forward, account_id: str, region: str
    ) -> Response | None:
        if operation == "DescribeStream":
            if not self.describe_stream_quota.allow((account_id, region)):
                return dynamodb_error("LimitExceededException", STREAM_RATE_EXCEEDED)
            return None
        name = request_json(request).get("TableName")
        if not isinstance(name, str):
            return None
        key = (account_id, region, name.split("/")[-1])  # a table ARN names the table last
        if operation in ITEM_OPERATIONS:
            if self.status(key) in ("CREATING", "DELETING"):
                return dynamodb_error("ResourceNotFoundException", NOT_FOUND)
            return None
        if operation == "CreateTable":
            return self._changed(request, forward, key, "CREATING", "dynamodb.creating_seconds")
        if operation == "UpdateTable":
            if self.status(key) in ("CREATING", "UPDATING", "DELETING"):
                return self._in_use(key)
            return self._changed(request, forward, key, "UPDATING", "dynamodb.updating_seconds")
        if operation == "DeleteTable":
            return self._delete(request, forward, key)
        if operation == "DescribeTable":
            status = self.status(key)
            if status is None:
                return None
            answer = pass_on(forward, request)
            payload = answer.json()
            if answer.status == 200 and isinstance(payload, dict) and "Table" in payload:
                payload["Table"]["TableStatus"] = status
                return answer.with_json(payload)
            return answer.response()
        return None

    def _in_use(self, key: TableKey) -> Response:
        status = self.status(key) or "ACTIVE"
        doing = {"CREATING": "created", "UPDATING": "updated", "DELETING": "deleted"}[status]
        return dynamodb_error(
            "ResourceInUseException",
            f"Attempt to change a resource which is still in use: Table is being {doing}: {key[2]}",
        )

    def _changed(
        self, request: Request, forward: Forward, key: TableKey, status: str, figure: str
    ) -> Response:
        answer = pass_on(forward, request)
        payload = answer.json()
        if answer.status != 200 or not isinstance(payload, dict):
            return answer.response()
        self._set(key, status, self.clock.delay(figure))
        payload.setdefault("TableDescription", {})["TableStatus"] = status
        return answer.with_json(payload)

    def _delete(self, request: Request, forward: Forward, key: TableKey) -> Response | None:
        if self.status(key) in ("CREATING", "UPDATING", "DELETING"):
            return self._in_use(key)
        account_id, region, name = key
        from moto.dynamodb.models import dynamodb_backends

        with self._moto_lock:
            try:
                table = dynamodb_backends[account_id][region].get_table(name)
            except Exception:
                return None  # moto answers ResourceNotFoundException
            if getattr(table, "deletion_protection_enabled", False):
                return None  # moto refuses it
            description: dict[str, Any] = table.describe(base_key="TableDescription")
        description["TableDescription"]["TableStatus"] = "DELETING"
        seconds = self.clock.delay("dynamodb.deleting_seconds")
        self._set(key, "DELETING", seconds)
        self.scheduler.later(seconds, lambda: self._finish_delete(key))
        return Response(_json(description), status=200, mimetype="application/x-amz-json-1.0")

    def _finish_delete(self, key: TableKey) -> None:
        account_id, region, name = key
        from moto.dynamodb.models import dynamodb_backends

        with self._moto_lock:
            try:
                dynamodb_backends[account_id][region].delete_table(name)
            except Exception:
                pass  # already gone
        with self._lock:
            self._status.pop(key, None)


def _json(payload: Any) -> str:
    import json

    return json.dumps(payload, default=str)
