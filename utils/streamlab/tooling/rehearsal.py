"""The course rehearsed on the aws code path: several participants at once, against the emulator.

No AWS account is available to CI, yet the notebooks promise to run unchanged on one. The
rehearsal runs every solution notebook in order with ``LAB_BACKEND=aws`` and
``AWS_ENDPOINT_URL`` at a private emulator, as several participants at once (each with their
own prefix and credentials), then asserts what a workshop on a shared account needs:

* every notebook passes, for every participant;
* nobody's calls touched another participant's resources (read from the emulator's record of
  every call, per access key);
* cleanup converged: nothing under any participant's prefix is left;
* every cell that waited long printed progress while it waited (a silent minute is a
  learner who thinks the notebook hung).

It is what ``make rehearsal`` runs, after ``make test``, in CI.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from streamlab.errors import LabError
from streamlab.tooling import build_labs
from streamlab.tooling.run_notebooks import execute, private_emulator

DEFAULT_PARTICIPANTS = ("ann", "bob", "cyd")
CELL_TIMEOUT_SECONDS = 600  # one cell of three participants at once on a small machine
REGION = "us-east-1"
# A cell that runs longer than this (real seconds) must have printed what it waited for.
# The kit's waits print progress after 3 s (``aws/waiting.py``). The rehearsal runs AWS's
# delays ten times faster but three participants on a small machine, so a cell can be slow
# for want of CPU alone; 20 s of silence here is minutes of silence at AWS's pace.
SILENT_WAIT_LIMIT_SECONDS = 20.0
# Words the kit's progress lines carry (see the waits in ``aws/``): a waiting cell shows one.
PROGRESS_MARKERS = ("waiting", "still", "so far")


@dataclass
class Participant:
    """One participant of the rehearsal: a prefix and the variables their kernels get."""

    name: str
    env: dict[str, str]

    @property
    def prefix(self) -> str:
        return f"{self.name}-"


@dataclass
class NotebookRun:
    participant: str
    notebook: str
    seconds: float
    failures: list[str] = field(default_factory=list)
    silent_waits: list[str] = field(default_factory=list)


@dataclass
class RehearsalReport:
    """What the rehearsal found; ``problems`` is empty when it passed."""

    runs: list[NotebookRun] = field(default_factory=list)
    trespasses: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        for run in self.runs:
            found += [f"{run.participant} {run.notebook}: {text}" for text in run.failures]
            found += [
                f"{run.participant} {run.notebook}: waited without progress: {text}"
                for text in run.silent_waits
            ]
        found += [f"touched another participant's resource: {text}" for text in self.trespasses]
        found += [f"left after cleanup: {text}" for text in self.leftovers]
        return found


def _cell_seconds(cell: Any) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def _output_text(cell: Any) -> str:
    parts: list[str] = []
    for output in cell.get("outputs", []):
        if "text" in output:
            text = output["text"]
            parts.append(text if isinstance(text, str) else "".join(text))
        for value in output.get("data", {}).values():
            parts.append(value if isinstance(value, str) else "".join(map(str, value)))
    return "\n".join(parts).lower()


def silent_waits(notebook: Any, limit_seconds: float) -> list[str]:
    """Cells that ran longer than ``limit_seconds`` and printed no progress line."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code":
            continue
        seconds = _cell_seconds(cell)
        if seconds > limit_seconds and not any(m in _output_text(cell) for m in PROGRESS_MARKERS):
            first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            found.append(f"cell {index} ({seconds:.0f} s): {first_line[:60]}")
    return found


def participant_env(name: str, endpoint: str, state_dir: str) -> dict[str, str]:
    """The variables a participant's kernels get: the aws backend, pointed at the emulator,
    with the credentials of an IAM user that has the participant policy (created here)."""
    from streamlab.aws.session import connect
    from streamlab.config import load_config
    from streamlab.local.participants import ensure_participant

    owner = connect(load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": endpoint}))
    person = ensure_participant(owner, name)
    return {
        **person.environment(endpoint, REGION),
        "LAB_TEST_MODE": "1",
        "LAB_STATE_DIR": state_dir,
        # The rehearsal must never read the machine's real AWS settings.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def _run_participant(
    participant: Participant,
    paths: Sequence[Path],
    limit_seconds: float,
    report: RehearsalReport,
    lock: threading.Lock,
) -> None:
    for path in paths:
        started = time.perf_counter()
        run = NotebookRun(participant.name, path.stem, 0.0)
        try:
            result = execute(
                build_labs.read(path),
                env=participant.env,
                cwd=path.parent,
                allow_errors=True,
                record_timing=True,
                timeout=CELL_TIMEOUT_SECONDS,
            )
        except LabError as exc:
            run.failures.append(str(exc))
        else:
            run.failures += [
                f"cell {cell.index}: {cell.error_name}: {cell.error_value[:900]}"
                for cell in result.failures
            ]
            run.silent_waits = silent_waits(result.notebook, limit_seconds)
        run.seconds = time.perf_counter() - started
        with lock:
            report.runs.append(run)
        if run.failures:
            return  # the later labs build on this one: their failures would only repeat it


def rehearse(
    root: Path,
    *,
    participants: Sequence[str] = DEFAULT_PARTICIPANTS,
    time_scale: float = 0.1,
    seed: int = 1,
    names: Sequence[str] | None = None,
) -> RehearsalReport:
    """Run the course as ``participants`` at once on the aws path; see the module docstring."""
    paths = sorted((root / "solutions").glob("*.ipynb"))
    if names:
        paths = [path for path in paths if path.stem in names or path.name in names]
    report = RehearsalReport()
    started = time.perf_counter()
    from streamlab.local.profiles import ProfileOptions

    with private_emulator(ProfileOptions("aws", time_scale, seed)) as emulator:
        endpoint, state = emulator["LAB_ENDPOINT"], emulator["LAB_STATE_DIR"]
        people = [
            Participant(name, participant_env(name, endpoint, state))
            for name in participants
        ]
        lock = threading.Lock()
        threads = [
            threading.Thread(
                target=_run_participant,
                args=(person, paths, SILENT_WAIT_LIMIT_SECONDS, report, lock),
                name=f"rehearsal-{person.name}",
            )
            for person in people
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report.trespasses = trespasses(endpoint, people)
        report.leftovers = leftovers(endpoint, people)
    report.seconds = time.perf_counter() - started
    return report


def trespasses(endpoint: str, people: Sequence[Participant]) -> list[str]:
    """Calls whose resources lie under another participant's prefix, from the emulator's record."""
    from streamlab.local.actions import read_action_log

    prefixes = {person.env["AWS_ACCESS_KEY_ID"]: person.prefix for person in people}
    everyone = {person.prefix for person in people}
    found = []
    for call in read_action_log(endpoint)["requests"]:
        own = prefixes.get(call["access_key"])
        if own is None:
            continue  # the owner's, a function's or the Lambda service's own calls
        for needed in call.get("authorisations", []):
            arn = needed["resource"]
            if any(f"/{p}" in arn or f":{p}" in arn for p in everyone - {own}):
                found.append(f"{own} called {call['call']} on {arn}")
    return sorted(set(found))


def leftovers(endpoint: str, people: Sequence[Participant]) -> list[str]:
    """What each participant's cleanup (lab 99) left, as their own ``find_resources`` sees it."""
    from streamlab.aws.session import connect
    from streamlab.config import load_config
    from streamlab.tooling.cleanup import find_resources

    found = []
    saved = dict(os.environ)
    for person in people:
        try:
            os.environ.update(person.env)
            lab = connect(load_config({**os.environ, **person.env}))
            found += [f"{person.name}: {resource}" for resource in find_resources(lab)]
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return found


def print_report(report: RehearsalReport) -> int:
    """One line per notebook run, the problems, and a closing count; the exit status."""
    for run in sorted(report.runs, key=lambda r: (r.participant, r.notebook)):
        verdict = "FAIL" if run.failures or run.silent_waits else "PASS"
        print(f"{verdict}  {run.participant:4} {run.notebook:28} {run.seconds:6.1f} s")
    problems = report.problems
    for problem in problems:
        print(f"problem: {problem}")
    failed = sum(1 for run in report.runs if run.failures or run.silent_waits)
    failed += len(report.trespasses) + len(report.leftovers)
    passed = sum(1 for run in report.runs if not (run.failures or run.silent_waits))
    print(f"rehearsal took {report.seconds:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if problems else 0
