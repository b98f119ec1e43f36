"""Memory of a process and everything it started: the figures the room benchmarks print.

PSS (proportional set size) is the headline: each page shared by n processes
counts 1/n to each, so the sum over a tree is what the tree really holds, and
copy-on-write sharing between forked workers and their template shows up.
USS (unique set size, pages no other process maps) is printed too: it is what
killing the tree would free at once, and the figure issue 16's baseline used.
Both need Linux's smaps (psutil ``memory_full_info``); elsewhere RSS is given.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil

MIB = 1024 * 1024


@dataclass
class TreeMemory:
    """One sample of a process tree: bytes and how many processes."""

    pss: int = 0
    uss: int = 0
    rss: int = 0
    processes: int = 0

    def __str__(self) -> str:
        return (
            f"PSS {self.pss / MIB:6.1f} MiB  USS {self.uss / MIB:6.1f} MiB  "
            f"RSS {self.rss / MIB:6.1f} MiB  ({self.processes} processes)"
        )


def tree_memory(pid: int) -> TreeMemory:
    """PSS, USS and RSS summed over ``pid`` and its descendants (vanished ones are skipped)."""
    total = TreeMemory()
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return total
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.Error, OSError):
            continue
        total.rss += info.rss
        total.pss += getattr(info, "pss", info.rss)
        total.uss += getattr(info, "uss", info.rss)
        total.processes += 1
    return total


class PeakSampler:
    """Samples a tree's memory in the background and keeps each figure's peak."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = TreeMemory()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def sample(self) -> None:
        now = tree_memory(self.pid)
        self.peak.pss = max(self.peak.pss, now.pss)
        self.peak.uss = max(self.peak.uss, now.uss)
        self.peak.rss = max(self.peak.rss, now.rss)
        self.peak.processes = max(self.peak.processes, now.processes)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


def role(process: psutil.Process) -> str:
    """What a process of an emulator's tree is: emulator, template, spare or worker.

    The spare is the worker the template forked ahead of demand: it still works
    in the template's folder, where a worker has moved into its function's code.
    """
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return "gone"
    if "forkserver.py" in command:  # a forked worker keeps its template's command line
        try:
            parent = process.parent()
            if parent is None or "forkserver.py" not in " ".join(parent.cmdline()):
                return "template"
            return "spare" if process.cwd() == parent.cwd() else "worker"
        except psutil.Error:
            return "worker"
    if "streamlab.local.server" in command:
        return "emulator"
    return "worker" if "worker.py" in command or "python" in command else process.name()


def tree_breakdown(pid: int) -> dict[str, TreeMemory]:
    """The tree's memory by role (see ``role``), to tell where a peak comes from."""
    parts: dict[str, TreeMemory] = {}
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return parts
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.Error, OSError):
            continue
        part = parts.setdefault(role(process), TreeMemory())
        part.rss += info.rss
        part.pss += getattr(info, "pss", info.rss)
        part.uss += getattr(info, "uss", info.rss)
        part.processes += 1
    return parts
