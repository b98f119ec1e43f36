"""Cold start and worker memory: workers forked from the template against spawned ones.

Private emulators run side by side in the same run, their cold starts taken
in turns (so load from other work falls on all alike): one forks workers from
its preloaded template (``LAB_LAMBDA_START=fork``, the default on Linux and
macOS), the other spawns a new interpreter per worker (``LAB_LAMBDA_START=spawn``,
the old start: the baseline). For each it prints:

* cold start: CreateFunction, then the first Invoke answered (through boto3),
  p50 / p99 over ``--rounds`` new functions, for a plain handler and for one
  that imports boto3 at module level (as the labs' handlers do), with the
  REPORT line's ``Init Duration`` (the worker's start: what the template changes);
* the emulator's process tree with ``--keep`` functions warm at once (each
  holding one environment): PSS (the headline), USS and RSS; see process_tree.

With ``--other-code DIR`` (another checkout's ``utils/`` folder, e.g. main's),
a third emulator runs that code with the template fork, in the same run: the
baseline for a change to the emulator itself.

Target (issue 16): cold start p50 <= 15 ms. Timings are printed, never asserted.
Run: ``.venv/bin/python benchmarks/cold_start.py [--rounds 30] [--keep 6] [--other-code DIR]``
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import handler_zip, percentile
from process_tree import tree_memory

from streamlab.local.control import free_port

HANDLER = "def handler(event, context):\n    return {'echo': event}\n"
BOTO3_HANDLER = "import boto3\n" + HANDLER


def _start(start: str, code: str | None = None) -> tuple[int, Any, int]:
    """A private emulator whose workers start the given way: (port, lab, emulator pid).

    ``code``: a ``utils/`` folder whose ``streamlab`` the emulator runs instead of this one.
    """
    from streamlab.aws.session import connect
    from streamlab.config import load_config
    from streamlab.local import control

    port = free_port()
    os.environ["LAB_LAMBDA_START"] = start
    if code:
        os.environ["PYTHONPATH"] = code
    try:
        pid = control.start(port).info["pid"]
    finally:
        os.environ.pop("LAB_LAMBDA_START", None)
        os.environ.pop("PYTHONPATH", None)
    lab = connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
        start_emulator=False,
    )
    return port, lab, pid


class _Emulator:
    """One emulator under measurement: its cold starts, then its memory."""

    def __init__(self, lab: Any, pid: int) -> None:
        self.lab, self.pid = lab, pid
        self.client = lab.lambda_
        self.role = lab.iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        self.serial = iter(range(1_000_000))
        self.results: dict[str, Any] = {
            label: [] for label in ("plain", "boto3", "plain_init", "boto3_init")
        }

    def _create(self, name: str, source: str) -> None:
        self.client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="lambda_function.handler",
            Code={"ZipFile": handler_zip(source + f"# {name}\n")},  # own code: a new task folder
        )

    def cold(self, label: str | None) -> None:
        """One cold start of a new function (recorded under ``label`` unless None)."""
        source = BOTO3_HANDLER if label == "boto3" else HANDLER
        name = f"cold-{next(self.serial)}"
        started = time.perf_counter()
        self._create(name, source)
        reply = self.client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        reply["Payload"].read()
        elapsed = (time.perf_counter() - started) * 1000
        report = base64.b64decode(reply["LogResult"]).decode()
        if label is not None:
            self.results[label].append(elapsed)
            self.results[f"{label}_init"].append(
                float(report.split("Init Duration: ")[1].split(" ms")[0])
            )
        self.client.delete_function(FunctionName=name)  # its environment is reaped

    def memory(self, keep: int) -> None:
        """The tree with no function warm, then with ``keep`` functions warm."""
        self.results["idle"] = tree_memory(self.pid)
        for i in range(keep):
            name = f"kept-{i}"
            self._create(name, BOTO3_HANDLER)
            self.client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
        self.results["kept"] = tree_memory(self.pid)


def _measure(emulators: dict[str, _Emulator], rounds: int, keep: int) -> None:
    """Cold starts taken in turns, one per emulator per round (the order alternating), so
    load from other work on the machine falls on all of them alike; then memory."""
    order = list(emulators)
    for emulator in emulators.values():
        emulator.cold(None)  # first use: connections, moto's lazy imports
    for label in ("plain", "boto3"):
        for round_number in range(rounds):
            for name in order if round_number % 2 else order[::-1]:
                emulators[name].cold(label)
    time.sleep(6.0)  # the reaper (every 5 s) ends the deleted functions' environments
    for emulator in emulators.values():
        emulator.memory(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="new functions per measurement")
    parser.add_argument("--keep", type=int, default=6, help="functions kept warm for memory")
    parser.add_argument(
        "--other-code", metavar="DIR",
        help="also run an emulator from this utils/ folder (e.g. main's), forking workers",
    )
    args = parser.parse_args()
    from streamlab.local import control

    runs = {"fork": ("fork", None), "spawn": ("spawn", None)}
    labels = {"fork": "template fork ", "spawn": "spawn (baseline)"}
    if args.other_code:
        runs["other"] = ("fork", str(Path(args.other_code).resolve()))
        labels["other"] = "other code, fork"
    with tempfile.TemporaryDirectory(prefix="streamlab-bench-") as state:
        os.environ["LAB_STATE_DIR"] = state
        ports: list[int] = []
        try:
            emulators = {}
            for run, (start, code) in runs.items():
                port, lab, pid = _start(start, code)
                ports.append(port)
                emulators[run] = _Emulator(lab, pid)
            _measure(emulators, args.rounds, args.keep)
        finally:
            for port in ports:
                control.stop(port)
        results = {run: emulator.results for run, emulator in emulators.items()}

    print(
        f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, "
        f"{args.rounds} rounds"
    )
    print("cold start = CreateFunction + first Invoke answered, through boto3")
    for label in ("plain", "boto3"):
        what = "plain handler" if label == "plain" else "handler importing boto3"
        for run in runs:
            timings = results[run][label]
            init = results[run][f"{label}_init"]
            print(
                f"  {what:24} {labels[run]:16} p50 {statistics.median(timings):7.1f} ms"
                f"   p99 {percentile(timings, 0.99):7.1f} ms"
                f"   (Init Duration p50 {statistics.median(init):6.1f} ms)"
            )
    for run in runs:
        print(f"emulator tree, no function warm, {labels[run]}: {results[run]['idle']}")
        print(f"emulator tree, {args.keep} functions warm,  {labels[run]}: {results[run]['kept']}")


if __name__ == "__main__":
    main()
