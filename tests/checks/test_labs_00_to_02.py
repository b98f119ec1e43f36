"""Checks read the backend and either print one PASS line or teach (never a traceback)."""

from __future__ import annotations

import pytest

from streamlab.aws import streams, tables
from streamlab.aws.session import Lab
from streamlab.checks import exercise, lab00, lab01, lab02
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone
from streamlab.errors import LabError


def test_pass_prints_one_line_and_forgets_the_stub(capsys) -> None:
    exercise.mark_pending("9.1", "do it")
    exercise.passed("9.1", "all good")
    assert capsys.readouterr().out == "PASS 9.1: all good\n"
    assert not exercise.is_pending("9.1")


def test_fail_says_not_done_yet_when_the_stub_ran_last() -> None:
    ExerciseNotDone("9.2", "write it")  # what a stub does; creating it registers it
    with pytest.raises(ExerciseNotDone, match="not done yet: write it"):
        exercise.fail("9.2", "wrong", "hint")


def test_fail_teaches_with_a_hint_otherwise() -> None:
    with pytest.raises(CheckFailed) as caught:
        exercise.fail("9.3", "the table is missing.", "create it.")
    assert str(caught.value) == "Exercise 9.3: the table is missing. Hint: create it."
    assert isinstance(caught.value, LabError)


def test_environment_ready(lab: Lab, capsys) -> None:
    lab00.environment_ready(lab)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["PASS", "PASS", "PASS"]
    assert "local emulator" in lines[-1]


def test_table_ready_passes_fails_on_keys_and_on_absence(lab: Lab, capsys) -> None:
    name = lab.name("UnitCheckOrders")
    with pytest.raises(CheckFailed, match="there is no table"):
        lab01.table_ready(lab, name, exercise="9.4", hash_key=("Customer#", "N"))
    tables.create_table(lab, name, hash_key=("Customer#", "N"))
    with pytest.raises(CheckFailed, match=r"has keys HASH Customer# \(N\).*RANGE Order#"):
        lab01.table_ready(
            lab, name, exercise="9.4", hash_key=("Customer#", "N"), range_key=("Order#", "N")
        )
    lab01.table_ready(lab, name, exercise="9.4", hash_key=("Customer#", "N"))
    assert capsys.readouterr().out.startswith("PASS 9.4: table UnitCheckOrders is ACTIVE")


def test_table_ready_rejects_provisioned_capacity(lab: Lab) -> None:
    name = lab.name("UnitCheckProvisioned")
    lab.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    with pytest.raises(CheckFailed, match="PAY_PER_REQUEST"):
        lab01.table_ready(lab, name, exercise="9.5", hash_key=("id", "S"))


def test_item_matches_checks_values_absence_and_types(lab: Lab, capsys) -> None:
    name = lab.name("UnitCheckItems")
    tables.create_table(lab, name, hash_key=("RecordID", "N"))
    expect = {"expected": {"PlayerName": "Bob"}, "absent": ["NickName"], "types": {"Badges": "SS"}}
    with pytest.raises(CheckFailed, match="no item with key"):
        lab01.item_matches(lab, name, {"RecordID": 2}, exercise="9.6", **expect)
    tables.put_items(
        lab, name, [{"RecordID": 2, "PlayerName": "Bob", "NickName": "B", "Badges": ["a"]}]
    )
    with pytest.raises(CheckFailed, match="should not have it"):
        lab01.item_matches(lab, name, {"RecordID": 2}, exercise="9.6", **expect)
    tables.put_items(lab, name, [{"RecordID": 2, "PlayerName": "Bob", "Badges": ["a"]}])
    with pytest.raises(CheckFailed, match="Badges is stored as type L, expected SS"):
        lab01.item_matches(lab, name, {"RecordID": 2}, exercise="9.6", **expect)
    tables.put_items(lab, name, [{"RecordID": 2, "PlayerName": "Bob", "Badges": {"a"}}])
    lab01.item_matches(lab, name, {"RecordID": 2}, exercise="9.6", **expect)
    assert capsys.readouterr().out == (
        "PASS 9.6: item {RecordID: 2} has PlayerName=Bob, Badges (SS); no NickName\n"
    )


def test_item_matches_names_the_types_when_the_text_looks_the_same(lab: Lab) -> None:
    name = lab.name("UnitCheckTypes")
    tables.create_table(lab, name, hash_key=("RecordID", "N"))
    tables.put_items(
        lab, name, [{"RecordID": 3, "Device": {"os": "android", "version": "14"}, "Level": 3}]
    )
    expected = {"Device": {"os": "android", "version": 14}}
    with pytest.raises(CheckFailed) as failed:
        lab01.item_matches(lab, name, {"RecordID": 3}, exercise="9.7", expected=expected)
    assert (
        "Device.version is 14 (type S, a string), expected 14 (type N, a number)"
        in str(failed.value)
    )
    with pytest.raises(CheckFailed, match=r"attribute Level is 3, expected 4\.$"):
        lab01.item_matches(lab, name, {"RecordID": 3}, exercise="9.7", expected={"Level": 4})
    with pytest.raises(CheckFailed, match=r"Device\.model is missing"):
        lab01.item_matches(
            lab, name, {"RecordID": 3}, exercise="9.7",
            expected={"Device": {"os": "android", "version": "14", "model": "X"}},
        )


@pytest.fixture(scope="module")
def orders(lab: Lab) -> str:
    name = lab.name("UnitCheckQueryOrders")
    tables.seed_orders(lab, name)
    return name


def test_query_check_accepts_a_query_in_range_key_order(lab: Lab, orders: str, capsys) -> None:
    def orders_of(customer):
        return lab.dynamodb.query(
            TableName=orders,
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "Customer#"},
            ExpressionAttributeValues={":c": {"N": str(customer)}},
        )

    lab01.query_by_hash_key(lab, orders, orders_of, exercise="9.7", values=[1, 2])
    assert "orders_of(1) returned 2, read 2" in capsys.readouterr().out


def test_query_check_rejects_a_scan_in_disguise(lab: Lab, orders: str) -> None:
    def orders_of(customer):
        return lab.dynamodb.scan(
            TableName=orders,
            FilterExpression="#c = :c",
            ExpressionAttributeNames={"#c": "Customer#"},
            ExpressionAttributeValues={":c": {"N": str(customer)}},
        )

    with pytest.raises(CheckFailed, match="not a query"):
        lab01.query_by_hash_key(lab, orders, orders_of, exercise="9.7", values=[1])


def test_errors_in_the_learners_function_are_one_line(lab: Lab, orders: str) -> None:
    def orders_of(customer):  # a typo in the table name
        return lab.dynamodb.query(
            TableName=orders + "s",
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "Customer#"},
            ExpressionAttributeValues={":c": {"N": str(customer)}},
        )

    with pytest.raises(CheckFailed, match=r"orders_of raised ResourceNotFoundException: .*Hint: "):
        lab01.query_by_hash_key(
            lab, orders, orders_of, exercise="9.7", values=[1], hint="check the table name"
        )


def test_a_hash_in_an_attribute_name_needs_a_placeholder_as_on_aws(lab: Lab, orders: str) -> None:
    def orders_of(customer):  # Customer# written as it is: AWS refuses the expression
        return lab.dynamodb.query(
            TableName=orders,
            KeyConditionExpression="Customer# = :c",
            ExpressionAttributeValues={":c": {"N": str(customer)}},
        )

    with pytest.raises(CheckFailed) as caught:
        lab01.query_by_hash_key(
            lab, orders, orders_of, exercise="9.7", values=[1], hint="use a placeholder"
        )
    assert str(caught.value).count("\n") == 0
    assert (
        'orders_of raised ValidationException: Invalid KeyConditionExpression: Syntax error; '
        'token: "#", near: "Customer# ="'
    ) in str(caught.value)


def test_a_stub_inside_the_function_says_not_done_yet(lab: Lab, orders: str) -> None:
    def orders_of(customer):
        raise ExerciseNotDone("9.7", "query the orders")

    with pytest.raises(ExerciseNotDone, match="9.7 is not done yet"):
        lab01.query_by_hash_key(lab, orders, orders_of, exercise="9.7", values=[1])


def test_returning_items_instead_of_the_response_is_explained(lab: Lab, orders: str) -> None:
    with pytest.raises(CheckFailed, match="returned list, not the query response"):
        lab01.query_by_hash_key(lab, orders, lambda c: [], exercise="9.7", values=[1])


def test_scan_check_reports_items_read(lab: Lab, capsys) -> None:
    name = lab.name("UnitCheckScan")
    tables.seed_game_records(lab, name)

    def high_scores(min_score):
        return lab.dynamodb.scan(
            TableName=name,
            FilterExpression="Score >= :m",
            ExpressionAttributeValues={":m": {"N": str(min_score)}},
        )

    cases = {900: lambda item: item["Score"] >= 900}
    lab01.scan_with_filter(lab, name, high_scores, exercise="9.8", cases=cases)
    assert "high_scores(900) returned 1 but read 2" in capsys.readouterr().out

    def no_filter(min_score):
        return lab.dynamodb.scan(TableName=name)

    with pytest.raises(CheckFailed, match=r"no_filter\(900\) returned 2 item"):
        lab01.scan_with_filter(lab, name, no_filter, exercise="9.8", cases=cases)


def test_stream_enabled_needs_the_stream_and_its_view_type(lab: Lab, capsys) -> None:
    from streamlab.aws import streams

    name = lab.name("UnitCheckStream")
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("RecordID", "N"))
    with pytest.raises(CheckFailed, match="no stream turned on"):
        lab02.stream_enabled(lab, name, exercise="9.9", view_type="NEW_AND_OLD_IMAGES")
    streams.enable_stream(lab, name, "KEYS_ONLY")
    with pytest.raises(CheckFailed, match="view type is KEYS_ONLY"):
        lab02.stream_enabled(lab, name, exercise="9.9", view_type="NEW_AND_OLD_IMAGES")
    lab02.stream_enabled(lab, name, exercise="9.9", view_type="KEYS_ONLY")
    assert capsys.readouterr().out.startswith("PASS 9.9: UnitCheckStream has its stream on")


def test_reads_whole_stream_compares_with_the_stream(lab: Lab, capsys) -> None:
    from streamlab.aws import streams

    name = lab.name("UnitCheckReadAll")
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("RecordID", "N"), stream_view_type="NEW_IMAGE")
    tables.put_items(lab, name, [{"RecordID": n} for n in range(1, 9)])
    tables.put_items(lab, name, [{"RecordID": 1, "Score": 5}])  # a second record of one key

    def read_all(arn):
        return streams.read_records(lab, arn, max_empty_reads=3)

    lab02.reads_whole_stream(lab, name, read_all, exercise="9.10")
    out = capsys.readouterr().out
    shards = streams.list_shards(lab, streams.stream_arn(lab, name))
    assert "all 9 records (INSERT, " in out and f"from {len(shards)} shard(s)" in out

    def read_first_page_twice(arn):
        return read_all(arn)[:1] * 2

    with pytest.raises(CheckFailed, match="appear more than once"):
        lab02.reads_whole_stream(lab, name, read_first_page_twice, exercise="9.10")

    def read_first_shard(arn):
        shard = lab.dynamodbstreams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        iterator = lab.dynamodbstreams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return lab.dynamodbstreams.get_records(ShardIterator=iterator)["Records"]

    assert len(read_first_shard(streams.stream_arn(lab, name))) < 9  # several shards hold them
    with pytest.raises(CheckFailed, match="read only the first of the stream's") as caught:
        lab02.reads_whole_stream(lab, name, read_first_shard, exercise="9.10")
    assert "every shard" in str(caught.value) and "\n" not in str(caught.value)

    def read_backwards(arn):
        return list(reversed(read_all(arn)))

    with pytest.raises(CheckFailed, match="RecordID=1 are not in the order they were written"):
        lab02.reads_whole_stream(lab, name, read_backwards, exercise="9.10")


def _read_until(lab: Lab, arn: str, empty_pages: int) -> list:
    """A reader of every shard that stops an open shard after ``empty_pages`` empty pages."""
    client = lab.dynamodbstreams
    records = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        empty = 0
        while iterator and empty < empty_pages:
            page = client.get_records(ShardIterator=iterator)
            records += page["Records"]
            empty = 0 if page["Records"] else empty + 1
            iterator = page.get("NextShardIterator")
    return records


def test_a_reader_that_stops_at_the_first_empty_page_is_told_why(lab: Lab) -> None:
    """AWS may answer empty pages before records (GetRecords' reference says so); the emulator
    never does, so the check gives the reader one, and a reader stopping there fails."""
    name = lab.name("UnitCheckEmptyPage")
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("RecordID", "N"), stream_view_type="NEW_IMAGE")
    tables.put_items(lab, name, [{"RecordID": n} for n in range(1, 9)])
    arn = streams.stream_arn(lab, name)
    assert len(_read_until(lab, arn, 1)) == 8  # without the check, it looks right here

    with pytest.raises(CheckFailed, match=r"returned 0 of the 8 records: it stopped reading") as e:
        lab02.reads_whole_stream(lab, name, lambda arn: _read_until(lab, arn, 1), exercise="9.10")
    assert "GetRecords may return an empty page before records" in str(e.value)
    assert "\n" not in str(e.value)
    lab02.reads_whole_stream(lab, name, lambda arn: _read_until(lab, arn, 2), exercise="9.10")
    assert len(_read_until(lab, arn, 1)) == 8  # the check's hooks are gone


def test_a_reader_that_never_stops_fails_in_time_with_what_to_change(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = lab.name("UnitCheckNeverStops")
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("RecordID", "N"), stream_view_type="NEW_IMAGE")
    tables.put_items(lab, name, [{"RecordID": 1}])
    monkeypatch.setattr(lab02, "READER_SECONDS", 1.0)

    def read_forever(arn):  # follows the open shard's NextShardIterator, never stops
        client = lab.dynamodbstreams
        shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = []
        while iterator:
            try:
                page = client.get_records(ShardIterator=iterator)
            except Exception:  # a learner's catch-all cannot swallow the deadline
                continue
            records += page["Records"]
            iterator = page.get("NextShardIterator")
        return records

    with pytest.raises(CheckFailed) as failed:
        lab02.reads_whole_stream(lab, name, read_forever, exercise="9.10")
    assert "read_forever did not return within 1 s" in str(failed.value)
    assert "an open shard always returns a NextShardIterator" in str(failed.value)


def test_learner_code_in_a_pure_python_loop_is_stopped_too() -> None:
    def spin(_):
        while True:
            pass

    with pytest.raises(CheckFailed, match="spin did not return within 0.3 s"):
        exercise.call_learner("9.0", spin, None, seconds=0.3, too_slow="end the loop.")


def test_image_function_accepts_decimals_and_names_the_wrong_attribute(capsys) -> None:
    from boto3.dynamodb.types import TypeDeserializer

    def to_plain(image):
        return {k: TypeDeserializer().deserialize(v) for k, v in image.items()}

    lab02.image_function(to_plain, exercise="9.11")
    assert capsys.readouterr().out.startswith("PASS 9.11: to_plain turns every")

    def strings_only(image):
        return {k: next(iter(v.values())) for k, v in image.items()}

    with pytest.raises(CheckFailed, match="these attributes come out wrong: Badges, .*expected {"):
        lab02.image_function(strings_only, exercise="9.11")


def test_changes_function_tries_every_kind_of_change(capsys) -> None:
    from streamlab.aws.streams import image_changes

    lab02.changes_function(image_changes, exercise="9.12")
    assert capsys.readouterr().out.startswith("PASS 9.12")

    def only_modified(old, new):
        old, new = old or {}, new or {}
        return {k: (old[k], new[k]) for k in old if k in new and old[k] != new[k]}

    with pytest.raises(CheckFailed, match="for old=None"):
        lab02.changes_function(only_modified, exercise="9.12")
    with pytest.raises(CheckFailed, match="returned None"):
        lab02.changes_function(lambda old, new: None, exercise="9.12")
