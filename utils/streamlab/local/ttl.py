"""Time to Live, now: delete a table's expired items as DynamoDB's TTL process does.

moto stores a table's TimeToLive setting (UpdateTimeToLive, DescribeTimeToLive)
but never deletes anything. On AWS, DynamoDB deletes an item some time after
the epoch-seconds number in its TTL attribute has passed (typically within a
few days, so no lab can wait for it), and the deletion writes a ``REMOVE``
stream record whose ``userIdentity`` is ``{"Type": "Service", "PrincipalId":
"dynamodb.amazonaws.com"}`` (Lambda's event spells it ``type``/``principalId``).

Labs and tests ask for that deletion *now* with a signed request to the
emulator's control path ``/_streamlab/ttl`` (``expire_now``; the kit calls it
through ``streamlab.aws.tables.expire_ttl_items``). Only items whose TTL
attribute is a number at or before the moment asked are deleted, as AWS would
eventually; items without the attribute, or with a non-number, never expire.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..errors import EmulatorError
from . import stream_shards

TTL_PATH = "/_streamlab/ttl"


def expire_items(table: Any, now: float) -> list[dict[str, Any]]:
    """Delete ``table``'s items whose TTL attribute is at or before ``now``; return their keys.

    Each deletion writes the stream record a TTL deletion writes on AWS. Call
    under moto's lock. A table without TTL enabled expires nothing (as on AWS).
    """
    ttl = getattr(table, "ttl", None) or {}
    attribute = ttl.get("AttributeName")
    if ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute:
        return []
    expired = []
    for item in table.all_items():
        value = item.attrs.get(attribute)
        if value is None or value.type != "N":
            continue
        try:
            when = float(value.value)
        except (TypeError, ValueError):
            continue
        if when <= now:
            expired.append(item)
    stream = table.stream_shard
    sharded = isinstance(stream, stream_shards.ShardedStream)
    keys = []
    for item in expired:
        if sharded:
            stream.removal_identity = stream_shards.TTL_IDENTITY
        try:
            table.delete_item(item.hash_key, item.range_key)
        finally:
            if sharded:
                stream.removal_identity = None
        key = {table.hash_key_attr: item.hash_key.to_json()}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = item.range_key.to_json()
        keys.append(key)
    return keys


def handle(body: bytes, moto_lock: Any, account_id: str) -> tuple[int, dict[str, Any]]:
    """The control path's answer to ``{"TableName": T, "Region": R, "Now": epoch?}``."""
    from moto.dynamodb.models import dynamodb_backends

    try:
        request = json.loads(body or b"{}")
        name, region = str(request["TableName"]), str(request["Region"])
        now = float(request.get("Now") or time.time())
    except (ValueError, KeyError, TypeError):
        return 400, {"message": "expected {\"TableName\": ..., \"Region\": ..., \"Now\": epoch}"}
    with moto_lock:
        table = dynamodb_backends[account_id][region].tables.get(name)
        if table is None:
            return 404, {"message": f"Requested resource not found: Table: {name} not found"}
        keys = expire_items(table, now)
    return 200, {"Expired": keys}


def expire_now(
    endpoint: str, table: str, region: str, *, now: float | None = None, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Ask the emulator at ``endpoint`` to run TTL on ``table`` now; the deleted items' keys.

    Signed with the owner's notebook keys: only the owner may delete items this way.
    """
    from .identities import issued

    keys = issued().notebook
    payload = json.dumps({"TableName": table, "Region": region, "Now": now}).encode()
    request = AWSRequest(method="POST", url=endpoint + TTL_PATH, data=payload)
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "streamlab", "us-east-1").add_auth(
        request
    )
    prepared = urllib.request.Request(
        request.url, data=payload, headers=dict(request.headers.items()), method="POST"
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(prepared, timeout=timeout) as response:
            return json.loads(response.read())["Expired"]
    except urllib.error.HTTPError as exc:
        message = exc.read(500).decode("utf-8", "replace")
        try:
            message = json.loads(message)["message"]
        except (ValueError, KeyError, TypeError):
            pass
        raise EmulatorError(
            f"Time to Live on {table} did not run ({exc.code}): {message}"
        ) from None
