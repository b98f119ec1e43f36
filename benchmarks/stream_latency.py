"""How fast a local stream mapping delivers: latency and throughput, with baselines.

Latency: from a PutItem's acknowledgement to the start of the handler that
receives its record (p50, p99), one write at a time. Throughput: records per
second delivered to a no-op handler at batch size 100, from a stream that
already holds the records. Both are printed beside figures measured in the
same run (a PutItem round trip, a warm Invoke) and beside AWS's reference: each
shard is polled about every 250 ms.

Runs a private emulator on a free port in a temporary state folder:

    .venv/bin/python benchmarks/stream_latency.py [--writes 200] [--records 10000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import threading
import time
import zipfile
from typing import Any

from measure import percentile

from streamlab.aws.roles import trust_policy
from streamlab.local.control import free_port
from streamlab.local.pollers.permissions import STREAM_ACTIONS

AWS_POLL_INTERVAL_MS = 250.0

LATENCY_HANDLER = """
import os, time
import boto3
started = None
ddb = boto3.client("dynamodb")
def handler(event, context):
    now = time.time()
    for record in event["Records"]:
        ddb.put_item(TableName=os.environ["RESULTS"], Item={
            "id": record["dynamodb"]["Keys"]["id"], "started": {"N": repr(now)}})
"""

NOOP_HANDLER = """
import os, time
import boto3
ddb = boto3.client("dynamodb")
def handler(event, context):
    if event["Records"] and event["Records"][-1]["dynamodb"]["Keys"]["id"]["S"] == "last":
        ddb.put_item(TableName=os.environ["RESULTS"], Item={
            "id": {"S": "done"}, "at": {"N": repr(time.time())}})
"""

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Resource": "*", "Action": list(STREAM_ACTIONS)}],
}
TRUST = trust_policy()


class Bench:
    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.role = lab.iam.create_role(
            RoleName="bench-role", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        lab.iam.put_role_policy(
            RoleName="bench-role", PolicyName="streams", PolicyDocument=json.dumps(POLICY)
        )

    def table(self, name: str, stream: bool) -> str | None:
        spec: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        }
        if stream:
            spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
        self.lab.dynamodb.create_table(**spec)
        return self.lab.dynamodb.describe_table(TableName=name)["Table"].get("LatestStreamArn")

    def function(self, name: str, code: str, results: str) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", code)
        self.lab.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role,
            Handler="handler.handler",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=60,
            Environment={"Variables": {"RESULTS": results}},
        )
        self.lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name)

    def mapping(self, function: str, stream: str, batch_size: int) -> None:
        uuid = self.lab.lambda_.create_event_source_mapping(
            FunctionName=function,
            EventSourceArn=stream,
            StartingPosition="TRIM_HORIZON",
            BatchSize=batch_size,
        )["UUID"]
        while self.lab.lambda_.get_event_source_mapping(UUID=uuid)["State"] != "Enabled":
            time.sleep(0.01)

    def wait_items(self, table: str, count: int, timeout: float = 300) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            items = self.lab.dynamodb.scan(TableName=table)["Items"]
            if len(items) >= count:
                return items
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {len(items)} of {count} results in {table}")
            time.sleep(0.05)

    # -- measurements -------------------------------------------------------------
    def latency(self, writes: int) -> dict[str, float]:
        stream = self.table("LatencySource", stream=True)
        self.table("LatencyResults", stream=False)
        self.function("latency", LATENCY_HANDLER, "LatencyResults")
        self.mapping("latency", stream, batch_size=1)
        # Warm-up: 16 keys at once, so every shard's batch runs at the same time and the
        # function has as many warm environments as shards (the stream has several).
        warm = [{"PutRequest": {"Item": {"id": {"S": f"warm-up-{n}"}}}} for n in range(16)]
        self.lab.dynamodb.batch_write_item(RequestItems={"LatencySource": warm})
        self.wait_items("LatencyResults", len(warm))
        acks: dict[str, float] = {}
        round_trips = []
        for i in range(writes):
            sent = time.time()
            self.lab.dynamodb.put_item(TableName="LatencySource", Item={"id": {"S": f"w{i}"}})
            acks[f"w{i}"] = time.time()
            round_trips.append(acks[f"w{i}"] - sent)
            time.sleep(0.02)  # one write at a time: measure delivery, not queueing
        items = self.wait_items("LatencyResults", writes + len(warm))
        latencies = [
            float(item["started"]["N"]) - acks[item["id"]["S"]]
            for item in items
            if item["id"]["S"] in acks
        ]
        invokes = []
        for _ in range(50):
            started = time.perf_counter()
            self.lab.lambda_.invoke(FunctionName="latency", Payload=b'{"Records": []}')
            invokes.append(time.perf_counter() - started)
        return {
            "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "put_p50": statistics.median(round_trips) * 1000,
            "invoke_p50": statistics.median(invokes) * 1000,
            "count": len(latencies),
        }

    def throughput(self, records: int) -> dict[str, float]:
        stream = self.table("ThroughputSource", stream=True)
        self.table("ThroughputResults", stream=False)
        self.function("noop", NOOP_HANDLER, "ThroughputResults")

        def writer(offset: int) -> None:
            client = self.lab.client("dynamodb")
            for i in range(offset, records - 1, 4):
                client.put_item(TableName="ThroughputSource", Item={"id": {"S": f"r{i}"}})

        started = time.perf_counter()
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.lab.dynamodb.put_item(TableName="ThroughputSource", Item={"id": {"S": "last"}})
        write_rate = records / (time.perf_counter() - started)
        event = json.dumps(
            {"Records": [{"dynamodb": {"Keys": {"id": {"S": f"x{i}"}}}} for i in range(100)]}
        ).encode()
        calls = 30
        started = time.perf_counter()
        for _ in range(calls):
            self.lab.lambda_.invoke(FunctionName="noop", Payload=event)
        invoke_rate = calls / (time.perf_counter() - started)
        begin = time.time()
        self.mapping("noop", stream, batch_size=100)
        done = self.wait_items("ThroughputResults", 1)[0]
        elapsed = float(done["at"]["N"]) - begin
        return {
            "rate": records / elapsed,
            "elapsed": elapsed,
            "write_rate": write_rate,
            "invoke_rate": invoke_rate,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200, help="latency samples")
    parser.add_argument("--records", type=int, default=10000, help="records for throughput")
    args = parser.parse_args()
    os.environ["LAB_STATE_DIR"] = tempfile.mkdtemp(prefix="streamlab-bench-")
    port = free_port()
    os.environ["LAB_ENDPOINT"] = f"http://127.0.0.1:{port}"
    from streamlab.aws.session import connect
    from streamlab.config import load_config
    from streamlab.local import control

    control.start(port)
    try:
        lab = connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": os.environ["LAB_ENDPOINT"]})
        )
        bench = Bench(lab)
        latency = bench.latency(args.writes)
        throughput = bench.throughput(args.records)
    finally:
        control.stop(port)
    print(
        f"stream latency, write acknowledged -> handler started ({latency['count']:.0f} "
        "writes, one at a time, batch 1)"
    )
    print(
        f"  p50 {latency['p50']:7.1f} ms   p99 {latency['p99']:7.1f} ms   "
        "(targets: p50 <= 20 ms, p99 <= 100 ms)"
    )
    print(
        f"  same run: PutItem round trip p50 {latency['put_p50']:.1f} ms, "
        f"warm Invoke p50 {latency['invoke_p50']:.1f} ms"
    )
    print(
        f"  AWS reference: each shard polled every {AWS_POLL_INTERVAL_MS:.0f} ms "
        f"(on average {AWS_POLL_INTERVAL_MS / 2:.0f} ms of waiting before any invoke)"
    )
    print(f"stream throughput, {args.records} records at batch 100 to a no-op handler")
    print(
        f"  {throughput['rate']:8.0f} records/s ({throughput['elapsed']:.2f} s)   "
        "(target: >= 2,000 records/s)"
    )
    print(
        f"  same run: writes {throughput['write_rate']:.0f} items/s (4 threads), "
        f"direct Invoke of a 100-record event {throughput['invoke_rate']:.0f}/s "
        f"= {throughput['invoke_rate'] * 100:.0f} records/s"
    )


if __name__ == "__main__":
    main()
