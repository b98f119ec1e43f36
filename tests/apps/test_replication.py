"""streamlab.apps.replication: replica table, permission, bootstrap and comparison."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

from streamlab.apps import game, replication
from streamlab.aws import functions, roles
from streamlab.aws.session import Lab, connect
from streamlab.aws.tags import PREFIX_TAG
from streamlab.config import load_config
from streamlab.errors import LabError


@pytest.fixture
def rep_lab(emulator: str) -> Lab:
    """A lab with a prefix of its own, so each test sees only its own tables."""
    prefix = f"r{uuid.uuid4().hex[:8]}-"
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": emulator, "LAB_PREFIX": prefix})
    )


def _item(record_id: str, score: int, **extra: dict) -> dict:
    return {"RecordID": {"S": record_id}, "Score": {"N": str(score)}, **extra}


# -- comparing (no backend) --------------------------------------------------------------


def test_equal_item_sets_compare_ok_whatever_their_order() -> None:
    left = [_item("a", 1), _item("b", 2)]
    comparison = replication.compare_items(left, list(reversed(left)), ["RecordID"])
    assert comparison.ok
    assert (comparison.source_items, comparison.replica_items) == (2, 2)
    assert str(comparison) == "PASS: the replica holds the same 2 items as the source."


def test_missing_extra_and_different_items_are_each_named() -> None:
    source = [_item("a", 1), _item("b", 2), _item("c", 3, Nick={"S": "x"})]
    replica = [_item("b", 20), _item("c", 3), _item("z", 9)]
    comparison = replication.compare_items(source, replica, ["RecordID"])
    assert not comparison.ok
    assert comparison.missing == ["RecordID=a"]
    assert comparison.extra == ["RecordID=z"]
    assert comparison.different == [("RecordID=b", ["Score"]), ("RecordID=c", ["Nick"])]
    text = str(comparison)
    assert text.startswith("FAIL: 1 missing, 1 extra, 2 different")
    assert "differs (Score): RecordID=b" in text


def test_an_attribute_of_another_type_is_a_difference() -> None:
    comparison = replication.compare_items(
        [_item("a", 1)], [{"RecordID": {"S": "a"}, "Score": {"S": "1"}}], ["RecordID"]
    )
    assert comparison.different == [("RecordID=a", ["Score"])]


def test_hash_and_range_keys_identify_items_together() -> None:
    def order(customer: str, number: str) -> dict:
        return {"Customer#": {"N": customer}, "Order#": {"N": number}}

    comparison = replication.compare_items(
        [order("1", "10"), order("1", "11")], [order("1", "10")], ["Customer#", "Order#"]
    )
    assert comparison.missing == ["Customer#=1, Order#=11"]


def test_a_long_list_of_differences_is_shortened() -> None:
    comparison = replication.compare_items([_item(str(i), i) for i in range(15)], [], ["RecordID"])
    lines = comparison.describe_differences(limit=10)
    assert len(lines) == 11 and lines[-1] == "... and 5 more"


def test_comparing_without_keys_is_a_clear_error() -> None:
    with pytest.raises(LabError, match="key_names is empty"):
        replication.compare_items([], [], [])


def test_key_names_put_the_hash_key_first() -> None:
    description = {
        "KeySchema": [
            {"AttributeName": "Order#", "KeyType": "RANGE"},
            {"AttributeName": "Customer#", "KeyType": "HASH"},
        ]
    }
    assert replication.key_names_of(description) == ("Customer#", "Order#")


# -- writing in batches (fake client) ----------------------------------------------------


class _ThrottlingClient:
    """Leaves the last item of every first attempt unprocessed, as a throttled table does."""

    def __init__(self, refuse_always: bool = False) -> None:
        self.calls: list[int] = []
        self.stored: list[dict] = []
        self.refuse_always = refuse_always

    def batch_write_item(self, RequestItems: dict) -> dict:  # noqa: N803 - boto3's name
        ((table, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        if self.refuse_always or (len(requests) > 1 and len(self.calls) % 2 == 1):
            kept, left = requests[:-1], requests[-1:]
        else:
            kept, left = requests, []
        if self.refuse_always:
            kept, left = [], requests
        self.stored.extend(r["PutRequest"]["Item"] for r in kept)
        return {"UnprocessedItems": {table: left} if left else {}}


def test_write_items_sends_batches_of_25_and_retries_unprocessed_items() -> None:
    client = _ThrottlingClient()
    items = [_item(str(i), i) for i in range(30)]
    assert replication.write_items(client, "T", items, sleep=lambda s: None) == 30
    assert sorted(i["RecordID"]["S"] for i in client.stored) == sorted(str(i) for i in range(30))
    assert client.calls[0] == 25 and max(client.calls) <= 25


def test_write_items_gives_up_with_a_clear_error_when_always_throttled() -> None:
    client = _ThrottlingClient(refuse_always=True)
    with pytest.raises(LabError, match="kept refusing 2 writes"):
        replication.write_items(client, "T", [_item("a", 1), _item("b", 2)], sleep=lambda s: None)


# -- on the emulator ----------------------------------------------------------------------


def test_replica_region_is_the_configured_second_region(rep_lab: Lab) -> None:
    assert replication.replica_region(rep_lab) == "us-west-2" != rep_lab.region


def test_create_replica_table_copies_the_key_schema_into_the_other_region(rep_lab: Lab) -> None:
    tables = game.create_game_tables(rep_lab)
    name = replication.create_replica_table(rep_lab, tables.scores)
    replica = rep_lab.client("dynamodb", "us-west-2").describe_table(TableName=name)["Table"]
    assert replica["TableArn"].split(":")[3] == "us-west-2"
    assert replica["KeySchema"] == [{"AttributeName": "RecordID", "KeyType": "HASH"}]
    assert replica["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "StreamSpecification" not in replica or not replica["StreamSpecification"].get(
        "StreamEnabled"
    )
    tags = rep_lab.client("dynamodb", "us-west-2").list_tags_of_resource(
        ResourceArn=replica["TableArn"]
    )["Tags"]
    assert {"Key": PREFIX_TAG, "Value": rep_lab.prefix} in tags


def test_a_fresh_replica_starts_empty_and_a_kept_one_keeps_its_items(rep_lab: Lab) -> None:
    tables = game.create_game_tables(rep_lab)
    replication.create_replica_table(rep_lab, tables.scores)
    client = rep_lab.client("dynamodb", "us-west-2")
    client.put_item(TableName=tables.scores, Item=_item("kept", 1))
    replication.create_replica_table(rep_lab, tables.scores)
    assert client.scan(TableName=tables.scores)["Count"] == 1
    replication.create_replica_table(rep_lab, tables.scores, fresh=True)
    assert client.scan(TableName=tables.scores)["Count"] == 0


def test_a_replica_of_a_missing_source_is_a_clear_error(rep_lab: Lab) -> None:
    with pytest.raises(LabError, match="does not exist in us-east-1"):
        replication.create_replica_table(rep_lab, rep_lab.name("NoSuchTable"))


def test_copy_items_bootstraps_every_page_and_compare_tables_then_passes(rep_lab: Lab) -> None:
    tables = game.create_game_tables(rep_lab)
    game.simulate_games(rep_lab, 60, seed=1)
    replication.create_replica_table(rep_lab, tables.scores)
    before = replication.compare_tables(rep_lab, tables.scores)
    assert len(before.missing) == 60 and not before.ok
    assert (
        replication.copy_items(rep_lab, tables.scores, tables.scores, "us-west-2", page_size=7)
        == 60
    )
    after = replication.compare_tables(rep_lab, tables.scores)
    assert after.ok and after.source_items == after.replica_items == 60


def test_scan_items_follows_last_evaluated_key(rep_lab: Lab) -> None:
    tables = game.create_game_tables(rep_lab)
    game.simulate_games(rep_lab, 12, seed=2)
    items = list(replication.scan_items(rep_lab.dynamodb, tables.scores, page_size=5))
    assert len({item["RecordID"]["S"] for item in items}) == 12


def test_compare_tables_without_the_replica_says_what_to_create(rep_lab: Lab) -> None:
    tables = game.create_game_tables(rep_lab)
    with pytest.raises(LabError, match="does not exist: run the cells that create them"):
        replication.compare_tables(rep_lab, tables.scores)


def test_wait_for_convergence_returns_the_last_difference_on_timeout(rep_lab: Lab) -> None:
    tables = game.create_game_tables(rep_lab)
    replication.create_replica_table(rep_lab, tables.scores)
    rep_lab.client("dynamodb", "us-west-2").put_item(TableName=tables.scores, Item=_item("x", 1))
    result = replication.wait_for_convergence(rep_lab, tables.scores, timeout=0.2, interval=0.05)
    assert result.extra == ["RecordID=x"]


def test_the_replica_statement_names_the_table_in_its_own_region(rep_lab: Lab) -> None:
    statement = replication.replica_write_statement(rep_lab, "p-T", "us-west-2")
    assert statement["Resource"] == "arn:aws:dynamodb:us-west-2:123456789012:table/p-T"
    assert set(statement["Action"]) == {
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }


def test_granting_before_the_deploy_creates_the_role_and_survives_redeploys(rep_lab: Lab) -> None:
    replication.grant_replica_writes(rep_lab, "rep", rep_lab.name("T"), "us-west-2")
    role = roles.role_name_for(rep_lab.name("rep"))
    code = "def lambda_handler(event, context):\n    return 1\n"
    functions.deploy_function(rep_lab, "rep", code, streams=["T"])
    functions.deploy_function(rep_lab, "rep", code + "\n", streams=["T"])
    names = rep_lab.iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert set(names) == {roles.EXECUTION_POLICY_NAME, replication.REPLICA_POLICY_NAME}
    document = rep_lab.iam.get_role_policy(
        RoleName=role, PolicyName=replication.REPLICA_POLICY_NAME
    )["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Resource"].startswith("arn:aws:dynamodb:us-west-2:")
    functions.delete_function(rep_lab, "rep")
    assert role not in {r["RoleName"] for r in rep_lab.iam.list_roles()["Roles"]}


def test_a_replica_still_catching_up_gets_more_time_and_a_stalled_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replaying a long history under load outlasts one timeout: the wait goes on while
    the replica changes, and ends a timeout after it stops changing."""
    keys = [f"RecordID={n}" for n in range(40)]
    calls = {"n": 0}

    def catching_up(*_args, **_kwargs) -> replication.TableComparison:
        calls["n"] += 1
        found = replication.TableComparison("source", "replica", len(keys), 0)
        found.missing = keys[calls["n"] :]  # one more item copied at every look
        return found

    monkeypatch.setattr(replication, "compare_tables", catching_up)
    result = replication.wait_for_convergence(
        SimpleNamespace(backend="local"), "T", region="r", timeout=0.05, interval=0.02,
        patience=1000,
    )
    assert result.ok and calls["n"] >= len(keys)

    def stalled(*_args, **_kwargs) -> replication.TableComparison:
        calls["n"] += 1
        found = replication.TableComparison("source", "replica", 2, 1)
        found.missing = ["RecordID=1"]
        return found

    monkeypatch.setattr(replication, "compare_tables", stalled)
    result = replication.wait_for_convergence(
        SimpleNamespace(backend="local"), "T", region="r", timeout=0.05, interval=0.02,
        patience=1000,
    )
    assert not result.ok and result.missing == ["RecordID=1"]
