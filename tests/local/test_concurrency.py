"""moto behind one lock: many threads at once lose nothing and see no error."""

from __future__ import annotations

import threading
import time

from streamlab.aws.session import connect
from streamlab.config import load_config

THREADS = 8
DURATION_SECONDS = 10.0


def test_eight_threads_writing_and_reading_for_ten_seconds_lose_nothing(emulator: str) -> None:
    table = "ConcurrencyProbe"
    setup = connect(load_config({"LAB_ENDPOINT": emulator}))
    setup.dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    written: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    deadline = time.monotonic() + DURATION_SECONDS

    def worker(index: int) -> None:
        client = connect(load_config({"LAB_ENDPOINT": emulator}), start_emulator=False).dynamodb
        try:
            sequence = 0
            while time.monotonic() < deadline:
                key = f"t{index}-{sequence}"
                client.put_item(TableName=table, Item={"id": {"S": key}, "n": {"N": str(sequence)}})
                item = client.get_item(TableName=table, Key={"id": {"S": key}}, ConsistentRead=True)
                assert item["Item"]["n"]["N"] == str(sequence), f"read back wrong value for {key}"
                written[index].append(key)
                sequence += 1
        except BaseException as exc:  # collected and reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION_SECONDS + 60)
    assert not errors, errors[:3]
    expected = {key for keys in written for key in keys}
    assert all(written), "a thread wrote nothing"
    stored: set[str] = set()
    for page in setup.dynamodb.get_paginator("scan").paginate(TableName=table):
        stored.update(item["id"]["S"] for item in page["Items"])
    assert stored == expected
