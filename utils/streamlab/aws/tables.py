"""DynamoDB tables for the labs: create, wait, delete, seed, and typed <-> plain values.

Every lab starts by making sure its tables exist, so creating is idempotent
(an existing table is waited for and returned, never an error) and always uses
on-demand billing, so an idle table costs nothing but storage on a real
account. Waits are bounded and say what they wait for: instant on the emulator,
seconds to minutes on AWS (a table being deleted is waited for, then made again).

The low-level API speaks *typed* values (``{"N": "999"}``); people think in
plain ones (``999``). ``to_plain`` and ``to_typed`` convert with boto3's own
``TypeDeserializer``/``TypeSerializer``, plus two kindnesses: whole numbers
come back as ``int`` (not ``Decimal``) and floats are accepted going in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tag_list
from streamlab.aws.waiting import Wait
from streamlab.errors import LabError

KeySpec = tuple[str, str]  # (attribute name, "S" | "N" | "B")

# The seed's own examples (the 2015 workshop's slides), verbatim.
GAME_RECORDS_KEY: KeySpec = ("RecordID", "N")
GAME_RECORDS: list[dict[str, Any]] = [
    {"RecordID": 1, "PlayerName": "Alice", "Score": 999, "NickName": "AliceTheMalice"},
    {"RecordID": 2, "PlayerName": "Bob", "Score": 888},  # attributes are optional
]
ORDERS_KEY: KeySpec = ("Customer#", "N")
ORDERS_SORT_KEY: KeySpec = ("Order#", "N")
ORDERS: list[dict[str, Any]] = [
    {"Customer#": 1, "Order#": 10, "Product": "Shoes"},
    {"Customer#": 1, "Order#": 11, "Product": "Toys"},
    {"Customer#": 2, "Order#": 11, "Product": "Pen"},
]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# -- typed <-> plain ---------------------------------------------------------------


def _plain_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def plain_value(value: Any) -> Any:
    """A deserialised value (``Decimal``, ``Binary``, sets, lists, maps) as plain Python."""
    if isinstance(value, Decimal):
        return _plain_number(value)
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, set):
        return {plain_value(member) for member in value}
    if isinstance(value, list):
        return [plain_value(member) for member in value]
    if isinstance(value, dict):
        return {key: plain_value(member) for key, member in value.items()}
    return value


def _decimal(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, set):
        return {_decimal(member) for member in value}
    if isinstance(value, (list, tuple)):
        return [_decimal(member) for member in value]
    if isinstance(value, Mapping):
        return {key: _decimal(member) for key, member in value.items()}
    return value


def to_plain(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{"Score": {"N": "999"}}`` -> ``{"Score": 999}`` (an item, key or stream image)."""
    if item is None:
        return None
    try:
        return {name: plain_value(_deserializer.deserialize(value)) for name, value in item.items()}
    except (TypeError, AttributeError) as exc:
        raise LabError(
            f"to_plain expects a typed item such as {{'Score': {{'N': '999'}}}}: {exc}"
        ) from None


def to_typed(item: Mapping[str, Any]) -> dict[str, Any]:
    """``{"Score": 999}`` -> ``{"Score": {"N": "999"}}``, ready for the low-level client."""
    try:
        return {name: _serializer.serialize(_decimal(value)) for name, value in item.items()}
    except TypeError as exc:
        raise LabError(f"to_typed cannot store this value in DynamoDB: {exc}") from None


def format_value(value: Any) -> str:
    """A value as short, stable text: sets sorted, so the same item always prints the same."""
    if isinstance(value, set):
        return "{" + ", ".join(sorted(format_value(member) for member in value)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {format_value(v)}" for key, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(member) for member in value) + "]"
    if isinstance(value, str):
        return value
    return repr(value)


# -- tables ------------------------------------------------------------------------


def describe(lab: Lab, name: str) -> dict[str, Any] | None:
    """The table's description, or None when there is no such table."""
    try:
        return lab.dynamodb.describe_table(TableName=name)["Table"]
    except lab.dynamodb.exceptions.ResourceNotFoundException:
        return None


def table_exists(lab: Lab, name: str) -> bool:
    return describe(lab, name) is not None


#: How long a table may take to become ACTIVE, or to go away, on each backend.
TABLE_WAIT_SECONDS = {"local": 30.0, "aws": 600.0}


def _table_wait(lab: Lab, what: str, advice: str) -> Wait:
    aws = lab.backend == "aws"
    return Wait(
        what,
        TABLE_WAIT_SECONDS[lab.backend],
        advice,
        interval=2.0 if aws else 0.05,
        max_interval=5.0 if aws else 0.2,
        backoff=1.2,
        jitter=0.2 if aws else 0.0,
    )


def _status(lab: Lab, name: str, region: str | None = None) -> str:
    client = lab.client("dynamodb", region) if region else lab.dynamodb
    try:
        description = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return "GONE"
    return description.get("TableStatus", "ACTIVE")


def wait_until_active(lab: Lab, name: str, region: str | None = None) -> dict[str, Any]:
    """Wait until the table is ACTIVE (it may be CREATING or UPDATING); return its description.

    A table that is DELETING will never become ACTIVE, and one that stays missing
    was never created: both are said at once instead of waiting minutes in vain.
    """
    wait = _table_wait(
        lab,
        f"table {name} to be ACTIVE",
        "look at the table with lab.dynamodb.describe_table, then run the cell again.",
    )
    while True:
        status = wait.look(lambda: _status(lab, name, region))
        if status == "ACTIVE":
            wait.done()
            client = lab.client("dynamodb", region) if region else lab.dynamodb
            return client.describe_table(TableName=name)["Table"]
        if status == "DELETING":
            raise LabError(
                f"Table {name} is being deleted, so it will not become ACTIVE: create it again "
                "(tables.create_table waits for the deletion to finish)."
            )
        if status == "GONE" and wait.looks >= 3:  # a just-created table may lag a moment
            raise LabError(f"Table {name} does not exist: create it first (run the cells above).")
        wait.pause(f"still {status}" if status else "throttled")


def ensure_not_deleting(lab: Lab, name: str, region: str | None = None) -> None:
    """Before creating ``name``: if a table of that name is still DELETING, wait until it is gone.

    CreateTable on a table being deleted fails with ``ResourceInUseException``,
    which would read as "it exists already", and the table would then vanish.
    """
    if _status(lab, name, region) == "DELETING":
        wait_until_gone(lab, name, region)


def wait_until_gone(lab: Lab, name: str, region: str | None = None) -> None:
    """Wait until a table being deleted no longer exists (bounded, with progress)."""
    wait = _table_wait(
        lab,
        f"table {name} to finish deleting",
        "DynamoDB is still deleting it; run the cell again in a minute.",
    )
    while True:
        status = wait.look(lambda: _status(lab, name, region))
        if status == "GONE":
            wait.done()
            return
        wait.pause(f"still {status}" if status else "throttled")


def create_table(
    lab: Lab,
    name: str,
    *,
    hash_key: KeySpec,
    range_key: KeySpec | None = None,
    stream_view_type: str | None = None,
    wait: bool = True,
) -> dict[str, Any]:
    """Create an on-demand table unless it exists; return its description (ACTIVE if ``wait``).

    An existing table is left as it is, even with other keys: ``key_schema_of``
    tells you what it has, and ``delete_table`` starts over.
    """
    keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
    for (attribute, kind), _role in keys:
        if kind not in ("S", "N", "B"):
            raise LabError(
                f"Key attribute {attribute!r} has type {kind!r}: keys are 'S' (string), "
                "'N' (number) or 'B' (binary)."
            )
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": a, "KeyType": role} for (a, _k), role in keys],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": k} for (a, k), _r in keys],
        "BillingMode": "PAY_PER_REQUEST",
        "Tags": prefix_tag_list(lab.prefix),  # so cleanup can tell whose table it is
    }
    if stream_view_type:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream_view_type}
    ensure_not_deleting(lab, name)  # re-creating a table still being deleted
    try:
        lab.dynamodb.create_table(**request)
    except lab.dynamodb.exceptions.ResourceInUseException:
        pass  # it exists (or is being created): wait for it below
    if not wait:
        return lab.dynamodb.describe_table(TableName=name)["Table"]
    description = wait_until_active(lab, name)
    if description.get("LatestStreamArn"):
        from streamlab.aws.streams import wait_until_enabled  # streams builds on tables

        wait_until_enabled(lab, description["LatestStreamArn"])
    return description


def delete_table(lab: Lab, name: str, *, wait: bool = True) -> bool:
    """Delete the table if it exists (waiting until it is gone); say whether it existed."""
    try:
        lab.dynamodb.delete_table(TableName=name)
    except lab.dynamodb.exceptions.ResourceNotFoundException:
        return False
    except lab.dynamodb.exceptions.ResourceInUseException:
        pass  # already being deleted (or still being created): wait below
    if wait:
        wait_until_gone(lab, name)
    return True


def key_schema_of(description: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """``{"HASH": ("RecordID", "N"), "RANGE": (...)}`` from a table description."""
    types = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    return {
        key["KeyType"]: (key["AttributeName"], types.get(key["AttributeName"], "?"))
        for key in description["KeySchema"]
    }


def billing_mode_of(description: Mapping[str, Any]) -> str:
    """``PAY_PER_REQUEST`` or ``PROVISIONED`` (AWS leaves it out for old provisioned tables)."""
    return description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")


# -- items -------------------------------------------------------------------------


def put_items(lab: Lab, name: str, items: Iterable[Mapping[str, Any]]) -> int:
    """Write plain-Python items (overwriting items with the same key); return how many."""
    count = 0
    with lab.dynamodb_resource.Table(name).batch_writer() as batch:
        for item in items:
            batch.put_item(Item=_decimal(dict(item)))
            count += 1
    return count


def scan_all(lab: Lab, name: str) -> list[dict[str, Any]]:
    """Every item of a small table as plain values, following pagination."""
    items: list[dict[str, Any]] = []
    for page in lab.dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        items.extend(to_plain(item) for item in page["Items"])
    return items


def seed_game_records(lab: Lab, name: str) -> dict[str, Any]:
    """The seed's ``GameRecords`` (Alice and Bob), table created if needed."""
    description = create_table(lab, name, hash_key=GAME_RECORDS_KEY)
    put_items(lab, name, GAME_RECORDS)
    return description


def seed_orders(lab: Lab, name: str) -> dict[str, Any]:
    """The seed's ``Orders`` (hash ``Customer#`` + range ``Order#``), table created if needed."""
    description = create_table(lab, name, hash_key=ORDERS_KEY, range_key=ORDERS_SORT_KEY)
    put_items(lab, name, ORDERS)
    return description


def expire_ttl_items(lab: Lab, name: str, *, now: float | None = None) -> list[dict[str, Any]]:
    """Run Time to Live on table ``name`` now (local backend); the deleted items' keys.

    On AWS, DynamoDB deletes an expired item itself, typically within a few days
    of its TTL time, and its stream record is a REMOVE whose ``userIdentity`` is
    the DynamoDB service. Locally nothing expires by itself: this deletes every
    item whose TTL attribute (epoch seconds) is at or before ``now`` (default:
    the present), writing exactly that record, so a lab can show what a TTL
    deletion does to a stream's consumers without waiting days.
    """
    if lab.endpoint is None:
        raise LabError(
            "On AWS, DynamoDB deletes expired items itself (within a few days); "
            "expire_ttl_items only runs on the local emulator."
        )
    from streamlab.local import ttl

    return ttl.expire_now(lab.endpoint, name, lab.region, now=now)
