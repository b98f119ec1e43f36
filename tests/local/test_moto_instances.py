"""moto's record of its model objects holds them weakly: a replaced or deleted item is freed.

The emulator runs in this process (``inprocess_emulator``), so the test can
hold a weak reference to the very object moto stored and see whether anything
still keeps it once the table no longer does. Live objects stay in the record,
in the order they were made, as moto's dashboard lists them.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from mapping_helpers import InProcess, keyed_table, stream_table, unique
from moto.core.common_models import BaseModel
from moto.core.model_instances import reset_model_data
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from streamlab.aws.session import Lab
from streamlab.local import moto_instances
from streamlab.local.moto_instances import LiveInstances


@pytest.fixture()
def lab(inprocess_emulator: InProcess) -> Lab:
    return inprocess_emulator.lab


def _stored_item(lab: Lab, table: str, key: str) -> Item:
    backend = dynamodb_backends[lab.account_id][lab.region]
    return backend.get_table(table).get_item(DynamoType({"S": key}))


@pytest.fixture()
def table(lab: Lab) -> Iterator[str]:
    name = unique(lab, "Instances")
    stream_table(lab, name)
    yield name
    lab.dynamodb.delete_table(TableName=name)


def _gone(ref: weakref.ref) -> bool:
    gc.collect()
    return ref() is None


def test_an_item_replaced_by_a_put_is_freed_and_the_new_one_is_listed(lab: Lab, table: str) -> None:
    lab.dynamodb.put_item(TableName=table, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    first = weakref.ref(_stored_item(lab, table, "a"))
    lab.dynamodb.put_item(TableName=table, Item={"id": {"S": "a"}, "n": {"N": "2"}})
    assert _gone(first)
    current = _stored_item(lab, table, "a")
    assert any(instance is current for instance in Item.instances_tracked)


def test_an_updated_item_leaves_no_copy_behind(lab: Lab, table: str) -> None:
    lab.dynamodb.put_item(TableName=table, Item={"id": {"S": "u"}, "n": {"N": "1"}})
    before = len(Item.instances_tracked)
    for _ in range(5):  # moto copies the old item for the stream record and ReturnValues
        lab.dynamodb.update_item(
            TableName=table, Key={"id": {"S": "u"}}, UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_OLD",
        )
    gc.collect()
    assert len(Item.instances_tracked) <= before
    got = lab.dynamodb.get_item(TableName=table, Key={"id": {"S": "u"}})["Item"]
    assert got["n"] == {"N": "6"}


def test_a_deleted_tables_items_are_freed(lab: Lab) -> None:
    name = unique(lab, "Deleted")
    keyed_table(lab, name)
    lab.dynamodb.put_item(TableName=name, Item={"id": {"S": "x"}})
    item = weakref.ref(_stored_item(lab, name, "x"))
    lab.dynamodb.delete_table(TableName=name)
    assert _gone(item)


class _Plain:
    pass


class _Slotted:
    __slots__ = ("name",)


def test_the_record_lists_live_objects_in_the_order_they_were_made() -> None:
    a, b, c = _Plain(), _Plain(), _Plain()
    slotted = _Slotted()  # cannot be referenced weakly: held, as moto held it
    record = LiveInstances([a, b])
    record.append(slotted)
    record.append(c)
    assert list(record) == [a, b, slotted, c]
    del b
    gc.collect()
    assert list(record) == [a, slotted, c]
    assert len(record) == 3


def test_a_reset_record_and_a_class_made_later_are_held_weakly_too(lab: Lab) -> None:
    moto_instances.apply()  # the emulator applied it; applying again changes nothing

    class LateModel(BaseModel):  # as when moto imports a service's models on its first request
        __module__ = "tests.moto_instances"  # moto files a model under its module's 2nd name

    kept = LateModel()
    dropped = weakref.ref(LateModel())
    assert _gone(dropped)
    assert list(LateModel.instances_tracked) == [kept]
    reset_model_data()  # moto's /moto-api/reset puts a new list in every record
    again = weakref.ref(Item(DynamoType({"S": "z"}), None, {"id": {"S": "z"}}))
    assert _gone(again)
    assert isinstance(Item.__dict__["instances_tracked"], LiveInstances)
