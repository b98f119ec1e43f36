"""An independent learner's answers pass every lab, each check saying PASS.

``independent_answers/`` holds one file per lab with an answer to each of its
exercises, written from the lab notebook, its guide page and AWS's documentation
alone, in other valid styles than the solutions (the resource API where the
solution uses the client, paginators where it loops, expression attribute names
where they are optional, another stopping rule for an open shard, a queue ARN
looked up with GetQueueAttributes, ...). Each answer replaces its exercise's
solution block (between ``### BEGIN SOLUTION`` and ``### END SOLUTION``); every
lab then runs to its end in one kernel, and every cell must run without error and
every exercise's check print its PASS line. A check that rejects one of these
answers rejects a correct answer: fix the check, not the answer.

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
LABS = sorted(path.stem for path in ANSWERS.glob("*.txt"))


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


def test_there_is_an_answer_for_every_exercise() -> None:
    exercises = {
        exercise.number
        for path in sorted((ROOT / "solutions").glob("*.ipynb"))
        for exercise in build_labs.exercises_of(build_labs.read(path), path.stem)
    }
    answered = {number for lab in LABS for number in read_answers(ANSWERS / f"{lab}.txt")}
    assert len(exercises) >= 21
    assert answered == exercises


@pytest.mark.parametrize("lab", LABS)
def test_an_independent_learner_passes_the_lab(lab: str, emulator: str) -> None:
    path = ROOT / "solutions" / f"{lab}.ipynb"
    answers = read_answers(ANSWERS / f"{lab}.txt")
    nb = with_answers(build_labs.read(path), answers)
    result = execute(
        nb, env={"LAB_PREFIX": f"learner{lab[:2]}-"}, cwd=path.parent, allow_errors=True,
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
