"""A workshop room on one host: N participants each run the whole course at once.

Each participant is its own process with its own emulator (its own
``LAB_STATE_DIR`` and port) and its own kernel, and runs the solution notebooks
in order, as ``streamlab run-solutions`` does. Meanwhile this process samples
memory once a second. Printed for the room (N participants) and, in the same
run, for one participant alone:

* cell time p50 / p99 (every code cell of every notebook, in seconds);
* per participant, the peak of its emulator's process tree (emulator, worker
  template, workers): PSS, the headline (shared pages divided among sharers,
  so forked workers' copy-on-write sharing counts), USS and RSS;
* per participant, the peak of everything it runs (driver, kernel, emulator);
* the room's total: the peak of all participants together;

and, for one participant, the same course with the old worker start
(``LAB_LAMBDA_START=spawn``) as the memory baseline. Target (issue 16): the
emulator tree <= 200 MiB PSS per participant over the whole course.

With ``--other-code DIR`` (another checkout's ``utils/`` folder, e.g. main's),
one participant alone also runs the course on that code, in the same run: the
baseline for a change to the emulator itself.

The host this runs on matters: use ``--participants`` to fit it (each
participant needs roughly a CPU core to run the course at full speed).
``--quick`` runs labs 00, 01, 03 and 99 only (minutes instead of tens of them).

Run: ``.venv/bin/python benchmarks/room.py [--participants 10] [--quick] [--no-baseline]
[--other-code DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from measure import percentile
from process_tree import MIB, TreeMemory, tree_breakdown, tree_memory

from streamlab.local.control import free_port

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("00_setup", "01_dynamodb_basics", "03_lambda", "99_cleanup")
CELL_TIMEOUT_SECONDS = 300  # a loaded host is slow; a cell that takes longer is stuck
PARTICIPANT_TIMEOUT_SECONDS = 3600


# --------------------------------------------------------------------------- one participant


def run_participant(state: str, port: int, names: list[str], out: str) -> None:
    """Run the course on a private emulator; write cell timings to ``out`` (JSON)."""
    os.environ["LAB_STATE_DIR"] = state
    from nbclient import NotebookClient

    from streamlab.local import control
    from streamlab.tooling import build_labs

    env = {
        "LAB_BACKEND": "local",
        "LAB_ENDPOINT": f"http://127.0.0.1:{port}",
        "LAB_STATE_DIR": state,
        "LAB_TEST_MODE": "1",
    }
    os.environ.pop("LAB_PREFIX", None)
    cells: list[dict] = []
    error = None
    started: dict[int, float] = {}  # cell index -> when it began (one notebook at a time)
    control.start(port)
    try:
        for name in names:
            path = ROOT / "solutions" / f"{name}.ipynb"

            def on_start(cell, cell_index, **_: object) -> None:  # noqa: ANN001
                started[cell_index] = time.perf_counter()

            def on_done(cell, cell_index, notebook=name, **_: object) -> None:  # noqa: ANN001
                seconds = time.perf_counter() - started.get(cell_index, time.perf_counter())
                cells.append({"notebook": notebook, "cell": cell_index, "seconds": seconds})

            client = NotebookClient(
                build_labs.read(path),
                kernel_name="python3",
                timeout=CELL_TIMEOUT_SECONDS,
                allow_errors=False,
                resources={"metadata": {"path": str(path.parent)}},
                on_cell_execute=on_start,
                on_cell_executed=on_done,
            )
            client.execute(env={**os.environ, **env})
    except Exception as exc:  # reported by the coordinator, which keeps the others going
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        control.stop(port)
    Path(out).write_text(json.dumps({"cells": cells, "error": error}))


# --------------------------------------------------------------------------- the coordinator


@dataclass
class Participant:
    state: str
    port: int
    out: str
    process: subprocess.Popen
    emulator_peak: TreeMemory = field(default_factory=TreeMemory)
    breakdown_at_peak: dict[str, TreeMemory] = field(default_factory=dict)
    everything_peak: TreeMemory = field(default_factory=TreeMemory)

    def emulator_pid(self) -> int | None:
        try:
            pid_file = Path(self.state) / f"emulator-{self.port}.pid"
            return int(json.loads(pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None


def _peak(peak: TreeMemory, now: TreeMemory) -> None:
    peak.pss, peak.uss = max(peak.pss, now.pss), max(peak.uss, now.uss)
    peak.rss, peak.processes = max(peak.rss, now.rss), max(peak.processes, now.processes)


@dataclass
class RoomResult:
    label: str
    participants: list[Participant]
    cells: list[float]
    errors: list[str]
    total_peak: TreeMemory
    seconds: float


def run_room(
    label: str, count: int, names: list[str], start: str, code: str | None = None
) -> RoomResult:
    """Start ``count`` participants at once, sample memory until all are done.

    ``code``: a ``utils/`` folder whose ``streamlab`` the participants (kernels and
    emulators) run instead of this one.
    """
    env = {**os.environ, "LAB_LAMBDA_START": start}
    if code:
        env["PYTHONPATH"] = code
    participants = []
    for _ in range(count):
        state = tempfile.mkdtemp(prefix="streamlab-room-")
        port = free_port()
        out = str(Path(state) / "result.json")
        command = [
            sys.executable,
            __file__,
            "--participant",
            f"{state},{port},{out}",
            "--notebooks",
            ",".join(names),
        ]
        with open(Path(state) / "participant.log", "wb") as log:  # kernels' chatter
            process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        participants.append(Participant(state, port, out, process))
    total_peak = TreeMemory()
    started = time.monotonic()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total = TreeMemory()
            for participant in participants:
                pid = participant.emulator_pid()
                if pid is not None:
                    now = tree_memory(pid)
                    if now.pss > participant.emulator_peak.pss:
                        participant.breakdown_at_peak = tree_breakdown(pid)
                    _peak(participant.emulator_peak, now)
                everything = tree_memory(participant.process.pid)
                _peak(participant.everything_peak, everything)
                total.pss += everything.pss
                total.uss += everything.uss
                total.rss += everything.rss
                total.processes += everything.processes
            _peak(total_peak, total)
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    errors: list[str] = []
    for participant in participants:
        try:
            participant.process.wait(timeout=PARTICIPANT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            participant.process.kill()
            errors.append(f"participant on port {participant.port} timed out")
    stop.set()
    sampler.join(timeout=30)
    cells: list[float] = []
    for participant in participants:
        try:
            result = json.loads(Path(participant.out).read_text())
        except (OSError, ValueError):
            errors.append(f"participant on port {participant.port} wrote no result")
            continue
        cells.extend(cell["seconds"] for cell in result["cells"])
        if result["error"]:
            errors.append(
                f"participant on port {participant.port}: {result['error']} "
                f"(log: {participant.state}/participant.log)"
            )
        else:  # a failed participant's folder stays, for its logs
            shutil.rmtree(participant.state, ignore_errors=True)
    return RoomResult(label, participants, cells, errors, total_peak, time.monotonic() - started)


def _report(result: RoomResult) -> None:
    count = len(result.participants)
    print(f"\n== {result.label}: {count} participant(s), {result.seconds:.0f} s")
    if result.cells:
        print(
            f"  cell time      p50 {statistics.median(result.cells):7.2f} s   "
            f"p99 {percentile(result.cells, 0.99):7.2f} s   ({len(result.cells)} cells)"
        )
    emulators = [p.emulator_peak for p in result.participants]
    worst = max(emulators, key=lambda m: m.pss)
    mean_pss = statistics.mean(m.pss for m in emulators) / MIB
    print(f"  emulator tree per participant, peak: mean PSS {mean_pss:6.1f} MiB; worst: {worst}")
    heaviest = max(result.participants, key=lambda p: p.emulator_peak.pss)
    for part, memory in sorted(heaviest.breakdown_at_peak.items()):
        print(f"    at that peak, {part:9} {memory}")
    everything = [p.everything_peak for p in result.participants]
    worst_all = max(everything, key=lambda m: m.pss)
    mean_all = statistics.mean(m.pss for m in everything) / MIB
    print(
        f"  participant (driver+kernel+emulator), peak: mean PSS {mean_all:6.1f} MiB; "
        f"worst: {worst_all}"
    )
    print(f"  room total, peak: {result.total_peak}")
    for error in result.errors:
        print(f"  ERROR {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="labs 00, 01, 03 and 99 only")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the spawn-per-worker baseline"
    )
    parser.add_argument(
        "--notebooks", help="comma-separated solution names instead of the whole course"
    )
    parser.add_argument(
        "--other-code", metavar="DIR",
        help="also run one participant alone on this utils/ folder (e.g. main's)",
    )
    parser.add_argument("--participant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.participant:
        state, port, out = args.participant.split(",")
        run_participant(state, int(port), args.notebooks.split(","), out)
        return
    names = (
        args.notebooks.split(",")
        if args.notebooks
        else list(QUICK)
        if args.quick
        else sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))
    )
    print(
        f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, "
        f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(f"course: {', '.join(names)}")
    results = [run_room("one participant alone (template fork)", 1, names, "fork")]
    if args.other_code:
        code = str(Path(args.other_code).resolve())
        results.append(run_room(f"one participant alone on {code}", 1, names, "fork", code))
    if not args.no_baseline:
        results.append(run_room("one participant alone, spawn baseline", 1, names, "spawn"))
    results.append(run_room("the room (template fork)", args.participants, names, "fork"))
    for result in results:
        _report(result)
    if any(result.errors for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
