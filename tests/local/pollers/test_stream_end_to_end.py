"""Stream mappings with real handlers in the local Lambda runtime.

The load test (10,000 writes over 200 keys from 4 threads, a summing handler,
batch 100) proves per-key order and exact totals; the fault test makes the
handler fail batches at random and kill its own process once, and proves that
retries plus an idempotent handler still give exact totals, and that with
``MaximumRetryAttempts=2`` every failed batch is described in the on-failure
queue while every other record is processed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from mapping_helpers import function, keyed_table, role, stream_table, unique, wait_for

from streamlab.aws import streams
from streamlab.aws.session import Lab

PROBE = "def handler(event, context):\n    return {'probe': 42}\n"

# Sums each key's amounts into TOTALS_TABLE: read the batch's keys (BatchGetItem),
# apply the records in order, write the changed totals back (BatchWriteItem), a
# handful of calls per batch. Idempotent and order-checking: a record whose
# sequence is not above its key's ``last_seq`` is a duplicate (or out of order) and
# is counted in ``skipped`` instead of being added. Read-modify-write is safe
# because a key's records are processed by one invocation at a time.
SUMMING = """
import hashlib
import os
import random

import boto3

ddb = boto3.client("dynamodb")
TABLE = os.environ["TOTALS_TABLE"]
MODE = os.environ.get("FAULT_MODE", "none")
COUNTERS = ("last_seq", "summed", "applied", "skipped")


def poisoned(first_sequence_number):
    return hashlib.md5(first_sequence_number.encode()).digest()[0] < 52  # about 20%


def kill_once():
    try:
        ddb.put_item(TableName=TABLE, Item={"id": {"S": "__killed__"}},
                     ConditionExpression="attribute_not_exists(id)")
    except ddb.exceptions.ConditionalCheckFailedException:
        return
    os._exit(1)


def read(keys):
    found = {}
    for start in range(0, len(keys), 100):
        request = {TABLE: {"Keys": [{"id": {"S": k}} for k in keys[start:start + 100]],
                           "ConsistentRead": True}}
        while request:
            answer = ddb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(TABLE, []):
                found[item["id"]["S"]] = {c: int(item.get(c, {"N": "0"})["N"]) for c in COUNTERS}
            request = answer.get("UnprocessedKeys") or None
    return found


def write(totals):
    puts = [{"PutRequest": {"Item": {"id": {"S": key},
                                     **{c: {"N": str(v)} for c, v in counters.items()}}}}
            for key, counters in totals.items()]
    for start in range(0, len(puts), 25):
        request = {TABLE: puts[start:start + 25]}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None


def handler(event, context):
    records = event["Records"]
    if MODE == "poison" and poisoned(records[0]["dynamodb"]["SequenceNumber"]):
        raise RuntimeError("poisoned batch")
    if MODE != "none":
        kill_once()
    changes = []
    for record in records:
        image = record["dynamodb"].get("NewImage")
        if image:
            changes.append((image["id"]["S"], int(image["seq"]["N"]), int(image["amount"]["N"])))
    keys = list(dict.fromkeys(key for key, _, _ in changes))
    totals = read(keys)
    for key, seq, amount in changes:
        counters = totals.setdefault(key, {c: 0 for c in COUNTERS})
        if seq <= counters["last_seq"]:
            counters["skipped"] += 1
        else:
            counters["last_seq"] = seq
            counters["summed"] += amount
            counters["applied"] += 1
    write({key: totals[key] for key in keys})
    if MODE == "random" and random.random() < 0.2:
        raise RuntimeError("random failure after the work was done")
"""


@pytest.fixture(scope="module")
def runtime(lab: Lab) -> str:
    """A role for the tests; skips when Invoke does not run code (no local runtime)."""
    role_arn = role(lab, unique(lab, "e2e-role"))
    name = unique(lab, "probe")
    function(lab, name, role_arn, PROBE)
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    payload = lab.lambda_.invoke(FunctionName=name)["Payload"].read()
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if answer != {"probe": 42}:
        pytest.skip(
            "Invoke does not run function code here: the local Lambda runtime is "
            "not part of this build"
        )
    return role_arn


def totals_table(lab: Lab) -> str:
    name = unique(lab, "Totals")
    keyed_table(lab, name)
    return name


def summing_function(lab: Lab, role_arn: str, totals: str, mode: str) -> str:
    name = unique(lab, f"sum-{mode}")
    function(lab, name, role_arn, SUMMING, timeout=60)
    lab.lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"TOTALS_TABLE": totals, "FAULT_MODE": mode}}
    )
    lab.lambda_.get_waiter("function_updated_v2").wait(FunctionName=name)
    return name


def write(lab: Lab, table: str, keys: int, per_key: int, threads: int = 4) -> dict[str, list]:
    """Each thread owns keys/threads keys and writes each key's seq 1..per_key in order.

    Writes go 25 at a time (BatchWriteItem, distinct keys), each still its own
    stream record; a key's writes are strictly sequential within its thread.
    """
    amounts: dict[str, list[int]] = {f"player-{k:03d}": [] for k in range(keys)}
    names = sorted(amounts)

    def writer(mine: list[str]) -> None:
        client = lab.client("dynamodb")
        for seq in range(1, per_key + 1):
            for chunk in range(0, len(mine), 25):
                requests = []
                for key in mine[chunk : chunk + 25]:
                    amount = (seq * 7 + int(key[-3:])) % 100 + 1
                    amounts[key].append(amount)
                    requests.append(
                        {
                            "PutRequest": {
                                "Item": {
                                    "id": {"S": key},
                                    "seq": {"N": str(seq)},
                                    "amount": {"N": str(amount)},
                                }
                            }
                        }
                    )
                answer = client.batch_write_item(RequestItems={table: requests})
                assert not answer.get("UnprocessedItems"), "the emulator never throttles"

    workers = [threading.Thread(target=writer, args=(names[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return amounts


def scan(lab: Lab, table: str) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    paginator = lab.dynamodb.get_paginator("scan")
    for page in paginator.paginate(TableName=table):
        for item in page["Items"]:
            items[item["id"]["S"]] = {k: int(v["N"]) for k, v in item.items() if "N" in v}
    return items


def wait_for_totals(lab: Lab, totals: str, done: Callable[[dict], bool], timeout: float) -> dict:
    return wait_for(
        lambda: (lambda items: items if done(items) else None)(scan(lab, totals)),
        timeout=timeout,
        what="every key's total",
    )


def test_handler_receives_each_write_as_a_record(lab: Lab, runtime: str) -> None:
    table = unique(lab, "E2E")
    stream = stream_table(lab, table)
    totals = totals_table(lab)
    name = summing_function(lab, runtime, totals, "none")
    lab.lambda_.create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream, StartingPosition="TRIM_HORIZON"
    )
    lab.dynamodb.put_item(
        TableName=table, Item={"id": {"S": "alice"}, "seq": {"N": "1"}, "amount": {"N": "5"}}
    )
    items = wait_for_totals(lab, totals, lambda items: "alice" in items, timeout=30)
    assert items["alice"]["summed"] == 5 and items["alice"]["applied"] == 1


def test_load_every_total_exact_and_order_kept_per_key(lab: Lab, runtime: str) -> None:
    """10,000 writes over 200 keys from 4 threads, batch 100."""
    table = unique(lab, "Load")
    stream = stream_table(lab, table)
    totals = totals_table(lab)
    name = summing_function(lab, runtime, totals, "none")
    lab.lambda_.create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=100
    )
    amounts = write(lab, table, keys=200, per_key=50)
    items = wait_for_totals(
        lab,
        totals,
        lambda items: (
            len(items) == 200
            and all(
                item.get("applied", 0) + item.get("skipped", 0) == 50 for item in items.values()
            )
        ),
        timeout=300,
    )
    for key, values in amounts.items():
        assert items[key]["summed"] == sum(values), key
        assert items[key]["last_seq"] == 50 and items[key]["applied"] == 50, key
        assert items[key]["skipped"] == 0, key  # no record twice, none out of order


def test_fault_random_failures_and_a_crash_with_default_retries(lab: Lab, runtime: str) -> None:
    """20% of batches fail after doing their work, and the process dies once."""
    table = unique(lab, "FaultRetry")
    stream = stream_table(lab, table)
    totals = totals_table(lab)
    name = summing_function(lab, runtime, totals, "random")
    lab.lambda_.create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=50
    )
    amounts = write(lab, table, keys=40, per_key=25)
    items = wait_for_totals(
        lab,
        totals,
        lambda items: all(items.get(key, {}).get("last_seq") == 25 for key in amounts),
        timeout=300,
    )
    assert "__killed__" in items  # the handler really did kill its process once
    for key, values in amounts.items():
        assert items[key]["summed"] == sum(values), key


def test_fault_retry_limit_sends_failed_batches_to_the_queue(lab: Lab, runtime: str) -> None:
    """Poisoned batches exhaust MaximumRetryAttempts=2; everything else is processed."""
    table = unique(lab, "FaultQueue")
    stream = stream_table(lab, table)
    totals = totals_table(lab)
    name = summing_function(lab, runtime, totals, "poison")
    queue = lab.sqs.create_queue(QueueName=unique(lab, "fault-failures"))["QueueUrl"]
    queue_arn = lab.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    mapping = lab.lambda_.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream,
        StartingPosition="TRIM_HORIZON",
        BatchSize=25,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    write(lab, table, keys=40, per_key=25)
    records = read_stream(lab, stream)
    assert len(records) == 1000

    queue_messages: list[dict] = []
    wait_for(
        lambda: checkpointed(lab, totals, records, queue, queue_messages),
        timeout=300,
        what="every record processed or reported",
    )
    result = lab.lambda_.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"]
    assert result in ("OK", "PROBLEM: Function call failed")
    failed: set[int] = set()
    for message in queue_messages:
        info = message["DDBStreamBatchInfo"]
        assert poisoned(info["startSequenceNumber"])  # only poisoned batches failed
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert message["requestContext"]["approximateInvokeCount"] == 3
        assert info["streamArn"] == stream
        failed |= {seq for seq, record in records.items() if in_batch(info, record, seq)}
    assert queue_messages, "no batch was poisoned: the test proved nothing"
    expected: dict[str, int] = {}
    for seq, (_shard, key, amount) in records.items():
        if seq not in failed:
            expected[key] = expected.get(key, 0) + amount
    items = scan(lab, totals)
    assert {k: items.get(k, {}).get("summed", 0) for k in expected} == expected


def poisoned(first_sequence_number: str) -> bool:
    """The handler's choice of batches to fail (in FAULT_MODE=poison), repeated here."""
    return hashlib.md5(first_sequence_number.encode()).digest()[0] < 52


def read_stream(lab: Lab, stream: str) -> dict[int, tuple[str, str, int]]:
    """Every record of every shard: sequence number -> (shard id, key, amount)."""
    result: dict[int, tuple[str, str, int]] = {}
    for shard in streams.list_shards(lab, stream):
        iterator = lab.dynamodbstreams.get_shard_iterator(
            StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.read_shard(lab, iterator):
            image = record["dynamodb"]["NewImage"]
            result[int(record["dynamodb"]["SequenceNumber"])] = (
                shard["ShardId"],
                image["id"]["S"],
                int(image["amount"]["N"]),
            )
    return result


def in_batch(info: dict, record: tuple[str, str, int], seq: int) -> bool:
    """Whether a record lies inside an on-failure message's batch (its shard, its range)."""
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    return record[0] == info["shardId"] and first <= seq <= last


def checkpointed(
    lab: Lab,
    totals: str,
    records: dict[int, tuple[str, str, int]],
    queue: str,
    messages: list[dict],
) -> bool:
    """True once every record is either applied or inside a reported batch."""
    while True:
        got = lab.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages")
        if not got:
            break
        for message in got:
            messages.append(json.loads(message["Body"]))
            lab.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    reported = {
        seq
        for m in messages
        for seq, record in records.items()
        if in_batch(m["DDBStreamBatchInfo"], record, seq)
    }
    applied = sum(item.get("applied", 0) for item in scan(lab, totals).values())
    return applied + len(reported) >= len(records)
