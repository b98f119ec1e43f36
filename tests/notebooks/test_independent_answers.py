"""Independent learners' answers pass every lab, each check saying PASS.

``independent_answers/first/`` holds one file per lab with an answer to each of
its exercises, written from the lab notebook, its guide page and AWS's
documentation alone, in other valid styles than the solutions (the resource API
where the solution uses the client, paginators where it loops, expression
attribute names where they are optional, parents found by ``ParentShardId``, a
queue ARN looked up with GetQueueAttributes, batch writers, ...);
``independent_answers/second/`` is another learner's, in yet other styles (a
``Key`` condition, ``build_full_result``, ``logging`` instead of ``print``, a
mapping created without waiting, an ``anything-but`` filter pattern, ...).

Each answer replaces its exercise's solution block (between ``### BEGIN SOLUTION``
and ``### END SOLUTION``); every lab then runs to its end in one kernel, and every
cell must run without error and every exercise's check print its PASS line. A check
that rejects one of these answers rejects a correct answer: fix the check, not the
answer.

An answer file is a list of blocks, each after a line ``### N.M``, written at the
indentation of a cell's top level (the harness indents a block like the solution
it replaces, so a handler's body is written unindented too).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from streamlab.checks.exercise import exercise_numbers
from streamlab.tooling import build_labs
from streamlab.tooling.run_notebooks import execute

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = Path(__file__).resolve().parent / "independent_answers"
SOLUTION = re.compile(r"(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION\n?", re.S)
BLOCK_LINE = re.compile(r"^### (?P<number>\d+\.\d+)\s*$", re.M)
RUNS = sorted((path.parent.name, path.stem) for path in ANSWERS.glob("*/*.txt"))


def read_answers(path: Path) -> dict[str, str]:
    """``{exercise number: answer text}`` of one answer file."""
    parts = BLOCK_LINE.split(path.read_text())
    blocks = zip(parts[1::2], parts[2::2], strict=True)
    return {number: text.strip("\n") + "\n" for number, text in blocks}


def indented(answer: str, indent: str) -> str:
    return "".join((indent + line if line.strip() else "") + "\n" for line in answer.splitlines())


def with_answers(nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The notebook with each exercise's solution block replaced by the learner's answer."""
    replaced = set()
    for cell in nb.cells:
        if build_labs.EXERCISE_TAG not in build_labs.tags(cell):
            continue
        for number in exercise_numbers(cell.source):
            cell.source = SOLUTION.sub(
                lambda match, number=number: indented(answers[number], match["indent"]),
                cell.source,
                count=1,
            )
            replaced.add(number)
    assert replaced == set(answers), f"answers for no exercise: {set(answers) - replaced}"
    return nb


def exercises_of(lab: str) -> set[str]:
    path = ROOT / "solutions" / f"{lab}.ipynb"
    return {exercise.number for exercise in build_labs.exercises_of(build_labs.read(path), lab)}


def test_the_first_learner_answers_every_exercise_and_each_file_a_whole_lab() -> None:
    labs = sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))
    everything = set().union(*(exercises_of(lab) for lab in labs))
    first = {number for learner, lab in RUNS if learner == "first"
             for number in read_answers(ANSWERS / learner / f"{lab}.txt")}
    assert len(everything) >= 21 and first == everything
    for learner, lab in RUNS:
        assert set(read_answers(ANSWERS / learner / f"{lab}.txt")) == exercises_of(lab), lab


@pytest.mark.parametrize(("learner", "lab"), RUNS, ids=[f"{a}-{b}" for a, b in RUNS])
def test_an_independent_learner_passes_the_lab(learner: str, lab: str, emulator: str) -> None:
    path = ROOT / "solutions" / f"{lab}.ipynb"
    answers = read_answers(ANSWERS / learner / f"{lab}.txt")
    nb = with_answers(build_labs.read(path), answers)
    result = execute(
        nb, env={"LAB_PREFIX": f"{learner}{lab[:2]}-"}, cwd=path.parent, allow_errors=True,
        timeout=300,
    )
    failed = {cell.index: f"{cell.error_name}: {cell.error_value}" for cell in result.failures}
    assert not failed, failed
    printed = "\n".join(
        output.get("text", "")
        for cell in result.notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream"
    )
    missing = [number for number in answers if f"PASS {number}:" not in printed]
    assert not missing, f"no PASS line for {missing}"
