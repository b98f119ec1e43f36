"""Invoke latency of the local runtime, against a process-per-call baseline from the same run.

Measures, through boto3 against a private emulator:

* cold start: CreateFunction, then the first Invoke (the environment starts);
* warm invoke: p50 / p99 of repeated Invokes of the same function;
* baseline: the same handler run by spawning a fresh Python process per call,
  as container-per-invoke emulators and python-lambda-local do;

and prints the ratio. Targets (issue 3): warm p50 <= 5 ms, first invoke after
create <= 150 ms, >= 50x faster than a process per call.

Run: ``.venv/bin/python benchmarks/invoke.py [--warm 300] [--cold 5] [--spawn 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import handler_zip, percentile

from streamlab.local.control import free_port

HANDLER = """
def handler(event, context):
    return {"echo": event}
"""
# What the labs' handlers look like: boto3 imported at module level.
BOTO3_HANDLER = "import boto3\n" + HANDLER


def _spawn_per_call(calls: int, folder: Path, source: str) -> list[float]:
    (folder / "lambda_function.py").write_text(source)
    script = (
        "import json, sys, lambda_function\n"
        "print(json.dumps(lambda_function.handler(json.loads(sys.argv[1]), None)))\n"
    )
    timings = []
    for i in range(calls):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", script, json.dumps({"n": i})],
            cwd=folder,
            check=True,
            capture_output=True,
        )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=300, help="warm invokes to time")
    parser.add_argument("--cold", type=int, default=5, help="create + first invoke rounds")
    parser.add_argument("--spawn", type=int, default=20, help="process-per-call runs")
    args = parser.parse_args()

    state = tempfile.mkdtemp(prefix="streamlab-bench-")
    os.environ["LAB_STATE_DIR"] = state
    from streamlab.aws.session import connect
    from streamlab.config import load_config
    from streamlab.local import control

    port = free_port()
    control.start(port)
    try:
        lab = connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
            start_emulator=False,
        )
        client = lab.lambda_
        role = lab.iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

        def create(name: str, source: str = HANDLER) -> None:
            client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="lambda_function.handler",
                Code={"ZipFile": handler_zip(source)},
            )

        create("warmup")
        client.invoke(FunctionName="warmup", Payload=b"{}")  # imports, connections, caches
        create("warm-boto3", BOTO3_HANDLER)
        client.invoke(FunctionName="warm-boto3", Payload=b"{}")

        first_invokes, create_and_first = [], []
        for i in range(args.cold):
            started = time.perf_counter()
            create(f"cold-{i}")
            created = time.perf_counter()
            client.invoke(FunctionName=f"cold-{i}", Payload=b"{}")
            done = time.perf_counter()
            first_invokes.append((done - created) * 1000)
            create_and_first.append((done - started) * 1000)

        payload = json.dumps({"score": 1}).encode()

        def warm_timings(name: str) -> list[float]:
            timings = []
            for _ in range(args.warm):
                started = time.perf_counter()
                client.invoke(FunctionName=name, Payload=payload)["Payload"].read()
                timings.append((time.perf_counter() - started) * 1000)
            return timings

        warm, warm_boto3 = warm_timings("warmup"), warm_timings("warm-boto3")
        with tempfile.TemporaryDirectory() as folder:
            spawn = _spawn_per_call(args.spawn, Path(folder), HANDLER)
            spawn_boto3 = _spawn_per_call(args.spawn, Path(folder), BOTO3_HANDLER)
    finally:
        control.stop(port)

    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs")
    print(f"first invoke after create        p50 {statistics.median(first_invokes):8.1f} ms")
    print(f"create + first invoke            p50 {statistics.median(create_and_first):8.1f} ms")
    for label, timings, baseline in (
        ("plain handler", warm, spawn),
        ("handler importing boto3", warm_boto3, spawn_boto3),
    ):
        warm_p50, warm_p99 = statistics.median(timings), percentile(timings, 0.99)
        spawn_p50 = statistics.median(baseline)
        print(f"{label}:")
        print(f"  warm invoke through boto3      p50 {warm_p50:8.2f} ms   p99 {warm_p99:8.2f} ms")
        print(f"  process per call (baseline)    p50 {spawn_p50:8.1f} ms")
        print(f"  warm invoke is {spawn_p50 / warm_p50:.0f}x faster than a process per call")


if __name__ == "__main__":
    main()
