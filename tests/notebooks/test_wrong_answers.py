"""Typical wrong answers get a short, specific, true message from their check, in time.

Each case takes a solution notebook, puts a wrong answer in place of one exercise's
solution (between ``### BEGIN SOLUTION`` and ``### END SOLUTION``), runs the notebook up
to that exercise's check cell and expects the check to fail with ``CheckFailed`` and a
message that names the mistake; never a pass, a hang or a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from streamlab.tooling import build_labs
from streamlab.tooling.run_notebooks import execute

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = re.compile(r"(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION\n?", re.S)


@dataclass
class WrongAnswer:
    notebook: str
    exercise: str
    answer: str  # replaces the solution block (indented like it)
    expected: str  # a regular expression the check's message must match
    id: str
    answer_fails: bool = False  # the answer's own cell raises too (an AWS error)


CASES = [
    WrongAnswer(
        "01_dynamodb_basics",
        "1.4",
        'return lab.dynamodb.scan(TableName=GAME_RECORDS, FilterExpression="Score > :min",\n'
        '    ExpressionAttributeValues={":min": {"N": str(min_score)}})\n',
        r"high_scores\(888\) returned 1 item\(s\).*expected",
        "scan-with-greater-than",
    ),
    WrongAnswer(
        "05_reliability",
        "5.2",
        'safe_settings = {"MaximumRetryAttempts": 2, "BisectBatchOnFunctionError": True,\n'
        '    "DestinationConfig": {"OnFailure": {"Destination": failures["QueueUrl"]}}}\n',
        r"QueueArn, not its QueueUrl",
        "destination-given-a-queue-url",
        answer_fails=True,
    ),
]


def with_wrong_answer(
    nb: nbformat.NotebookNode, case: WrongAnswer
) -> tuple[nbformat.NotebookNode, int, int]:
    """The notebook cut after the exercise's check cell, with the wrong answer in place."""
    answer_cell = next(  # the cells' roles are their tags (see build_labs)
        i
        for i, c in enumerate(nb.cells)
        if build_labs.EXERCISE_TAG in build_labs.tags(c)
        and case.exercise in [e.number for e in build_labs.strip_solutions(c.source)[1]]
    )
    check_cell = next(
        i
        for i, c in enumerate(nb.cells)
        if i > answer_cell and case.exercise in build_labs.checked_exercises(c)
    )

    def replace(match: re.Match) -> str:
        indent = match.group("indent")
        return "".join(indent + line + "\n" for line in case.answer.splitlines())

    nb.cells[answer_cell].source = SOLUTION.sub(replace, nb.cells[answer_cell].source, count=1)
    nb.cells = nb.cells[: check_cell + 1]
    return nb, answer_cell, check_cell


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_wrong_answer_gets_a_specific_message(case: WrongAnswer, emulator: str) -> None:
    path = ROOT / "solutions" / f"{case.notebook}.ipynb"
    nb, answer_cell, check_cell = with_wrong_answer(build_labs.read(path), case)
    result = execute(
        nb, env={"LAB_PREFIX": f"wrong{case.exercise.replace('.', '')}-"}, cwd=path.parent,
        allow_errors=True, timeout=120,
    )
    failed = {cell.index: cell for cell in result.failures}
    expected_failures = {check_cell, answer_cell} if case.answer_fails else {check_cell}
    assert set(failed) == expected_failures, {i: c.error_value for i, c in failed.items()}
    assert failed[check_cell].error_name == "CheckFailed"
    assert re.search(case.expected, failed[check_cell].error_value), failed[check_cell].error_value
