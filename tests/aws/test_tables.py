"""Tables: idempotent on-demand creation, real waits, deletion, seed data, typed <-> plain."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streamlab.aws import tables
from streamlab.aws.session import Lab
from streamlab.errors import LabError


def test_create_is_on_demand_active_and_idempotent(lab: Lab) -> None:
    name = lab.name("UnitTablesCreate")
    first = tables.create_table(lab, name, hash_key=("id", "S"), range_key=("at", "N"))
    again = tables.create_table(lab, name, hash_key=("id", "S"))  # exists: left as it is
    assert first["TableStatus"] == again["TableStatus"] == "ACTIVE"
    assert tables.billing_mode_of(again) == "PAY_PER_REQUEST"
    assert tables.key_schema_of(again) == {"HASH": ("id", "S"), "RANGE": ("at", "N")}


def test_create_with_a_stream(lab: Lab) -> None:
    name = lab.name("UnitTablesStream")
    description = tables.create_table(lab, name, hash_key=("id", "N"), stream_view_type="KEYS_ONLY")
    assert description["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "KEYS_ONLY",
    }


def test_a_key_type_that_cannot_be_a_key_is_a_clear_error(lab: Lab) -> None:
    with pytest.raises(LabError, match="keys are 'S'"):
        tables.create_table(lab, lab.name("UnitTablesBadKey"), hash_key=("id", "SS"))


def test_delete_waits_and_reports_whether_it_existed(lab: Lab) -> None:
    name = lab.name("UnitTablesDelete")
    tables.create_table(lab, name, hash_key=("id", "S"))
    assert tables.delete_table(lab, name) is True
    assert not tables.table_exists(lab, name)
    assert tables.delete_table(lab, name) is False
    assert tables.describe(lab, name) is None


def test_seed_data_is_the_workshops(lab: Lab) -> None:
    games, orders = lab.name("UnitSeedGames"), lab.name("UnitSeedOrders")
    tables.seed_game_records(lab, games)
    tables.seed_orders(lab, orders)
    tables.seed_orders(lab, orders)  # twice: still three orders
    by_id = {item["RecordID"]: item for item in tables.scan_all(lab, games)}
    assert by_id[1] == {
        "RecordID": 1,
        "PlayerName": "Alice",
        "Score": 999,
        "NickName": "AliceTheMalice",
    }
    assert by_id[2] == {"RecordID": 2, "PlayerName": "Bob", "Score": 888}
    products = sorted(
        (o["Customer#"], o["Order#"], o["Product"]) for o in tables.scan_all(lab, orders)
    )
    assert products == [(1, 10, "Shoes"), (1, 11, "Toys"), (2, 11, "Pen")]
    assert tables.key_schema_of(tables.describe(lab, orders))["RANGE"] == ("Order#", "N")


EVERY_TYPE = {
    "s": "text",
    "n": 999,
    "f": 0.25,
    "b": b"\x00\x01",
    "yes": True,
    "nothing": None,
    "ss": {"a", "b"},
    "ns": {1, 2},
    "bs": {b"x"},
    "l": [1, "two", [3]],
    "m": {"k": {"n": 1}},
}


def test_typed_and_plain_round_trip_every_type() -> None:
    typed = tables.to_typed(EVERY_TYPE)
    assert typed["n"] == {"N": "999"}
    assert typed["f"] == {"N": "0.25"}
    assert typed["yes"] == {"BOOL": True}
    assert typed["nothing"] == {"NULL": True}
    assert sorted(typed["ss"]["SS"]) == ["a", "b"]
    assert typed["m"] == {"M": {"k": {"M": {"n": {"N": "1"}}}}}
    plain = tables.to_plain(typed)
    assert plain == EVERY_TYPE
    assert type(plain["n"]) is int and type(plain["f"]) is float
    assert type(plain["b"]) is bytes


def test_to_plain_of_nothing_is_none_and_bad_input_is_explained() -> None:
    assert tables.to_plain(None) is None
    with pytest.raises(LabError, match="typed item"):
        tables.to_plain({"Score": 999})
    with pytest.raises(LabError, match="cannot store"):
        tables.to_typed({"x": object()})


def test_decimal_numbers_become_int_or_float() -> None:
    assert tables.to_plain({"a": {"N": "1.50"}, "b": {"N": "2"}}) == {"a": 1.5, "b": 2}
    assert tables.to_typed({"d": Decimal("3.10")}) == {"d": {"N": "3.10"}}


def test_format_value_is_stable_for_sets() -> None:
    assert tables.format_value({"night-owl", "first-win"}) == "{first-win, night-owl}"
    assert tables.format_value({"k": [1, "a"]}) == "{k: [1, a]}"
