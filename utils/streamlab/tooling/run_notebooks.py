"""Runs notebooks headless, against a private emulator, and reports cell by cell.

Used by ``streamlab run-solutions`` (which refreshes the outputs kept in
``solutions/``) and by the notebook tests (which prove that a lab fails only at
its exercise stubs). Kernels inherit ``LAB_ENDPOINT``, ``LAB_STATE_DIR`` and
``LAB_TEST_MODE=1``, so they talk to the private emulator and widgets render
static snapshots; the learner's emulator on the default port is never touched.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from streamlab.errors import LabError
from streamlab.local.control import free_port
from streamlab.tooling import build_labs

CELL_TIMEOUT_SECONDS = 120
KERNEL_NAME = "python3"


@dataclass
class CellOutcome:
    index: int
    source: str
    error_name: str | None = None
    error_value: str = ""

    @property
    def failed(self) -> bool:
        return self.error_name is not None


@dataclass
class RunResult:
    notebook: nbformat.NotebookNode
    seconds: float
    cells: list[CellOutcome] = field(default_factory=list)

    @property
    def failures(self) -> list[CellOutcome]:
        return [cell for cell in self.cells if cell.failed]


@contextmanager
def private_emulator(profile: Any = None) -> Iterator[dict[str, str]]:
    """A fresh emulator on a free port in a temporary state folder; yields its LAB_* variables.

    ``profile`` (``local.profiles.ProfileOptions``) starts it in another profile (the
    rehearsal's ``--profile aws``)."""
    from streamlab.local import control

    with tempfile.TemporaryDirectory(prefix="streamlab-run-") as state:
        port = free_port()
        saved = os.environ.get("LAB_STATE_DIR")
        os.environ["LAB_STATE_DIR"] = state
        try:
            control.start(port, profile)
            yield {
                "LAB_BACKEND": "local",
                "LAB_ENDPOINT": f"http://127.0.0.1:{port}",
                "LAB_STATE_DIR": state,
                "LAB_TEST_MODE": "1",
            }
        finally:
            control.stop(port)
            if saved is None:
                os.environ.pop("LAB_STATE_DIR", None)
            else:
                os.environ["LAB_STATE_DIR"] = saved


def execute(
    nb: nbformat.NotebookNode,
    *,
    env: Mapping[str, str],
    cwd: Path,
    allow_errors: bool,
    timeout: int = CELL_TIMEOUT_SECONDS,
    record_timing: bool = False,
) -> RunResult:
    """Execute ``nb`` in a new ``python3`` kernel, with ``env`` added to this environment."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.from_dict(nb)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
        record_timing=record_timing,
    )
    started = time.perf_counter()
    try:
        client.execute(env={**os.environ, **env})
    except CellExecutionError as exc:
        failed = next(
            (
                index
                for index, cell in enumerate(nb.cells)
                if any(output.get("output_type") == "error" for output in cell.get("outputs", []))
            ),
            None,
        )
        raise LabError(
            f"cell {failed} failed ({exc.ename}: {exc.evalue}); "
            "run the notebook in JupyterLab to see it"
        ) from None
    seconds = time.perf_counter() - started
    result = RunResult(nb, seconds)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outcome = CellOutcome(index, cell.source)
        for output in cell.outputs:
            if output.output_type == "error":
                outcome.error_name = output.ename
                outcome.error_value = output.evalue
        result.cells.append(outcome)
    return result


def run_solutions(root: Path, names: list[str] | None = None) -> list[tuple[Path, float]]:
    """Execute solution notebooks in place on a fresh emulator, keeping normalised outputs."""
    paths = sorted((root / "solutions").glob("*.ipynb"))
    if names:
        paths = [path for path in paths if path.stem in names or path.name in names]
    timings: list[tuple[Path, float]] = []
    with private_emulator() as env:
        for path in paths:
            try:
                result = execute(
                    build_labs.read(path), env=env, cwd=path.parent, allow_errors=False
                )
            except LabError as exc:
                raise LabError(f"solutions/{path.name}: {exc}") from None
            path.write_bytes(
                build_labs.dumps(build_labs.normalise_solution(result.notebook)).encode()
            )
            timings.append((path, result.seconds))
    return timings
