"""The learner notebooks in ``labs/`` are provably the solutions minus the answers.

Three ways: ``labs/`` is byte-for-byte what the generator makes from
``solutions/``; it holds no outputs, widget state or solution text; and running
a lab fails only at its exercise stubs and at the check cells after them, each
with the one-line "not done yet" error (nothing else fails). The solutions
themselves are run by nbval (see pyproject's pytest options).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from streamlab.tooling import build_labs, cli
from streamlab.tooling.run_notebooks import execute

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NAMES = [path.stem for path in SOLUTIONS]


def lab_path(name: str) -> Path:
    return ROOT / "labs" / f"{name}.ipynb"


def test_there_are_solution_notebooks() -> None:
    assert {"00_setup", "01_dynamodb_basics", "02_streams"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_lab_equals_the_generated_copy(name: str) -> None:
    solution = ROOT / "solutions" / f"{name}.ipynb"
    expected = build_labs.dumps(build_labs.make_lab(build_labs.read(solution), name=name))
    assert lab_path(name).read_bytes() == expected.encode("utf-8"), (
        f"labs/{name}.ipynb is out of step with solutions/: run `streamlab build-labs`"
    )


def test_build_labs_check_passes_on_the_committed_copy(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["build-labs", "--check"]) == 0
    assert "differs" not in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_lab_holds_no_outputs_and_no_solution_text(name: str) -> None:
    solution = build_labs.read(ROOT / "solutions" / f"{name}.ipynb")
    lab = build_labs.read(lab_path(name))
    assert "widgets" not in lab.metadata
    answers = [
        line.strip()
        for cell in solution.cells
        if cell.cell_type == "code"
        for block in build_labs.solution_blocks(cell.source)
        for line in block.split("\n")
        if len(line.strip()) > 12 and not line.strip().startswith("#")
    ]
    outside_answers = "\n".join(
        build_labs.strip_solutions(cell.source)[0] for cell in solution.cells
    ).replace("raise streamlab.ExerciseNotDone", "")
    answers = [answer for answer in answers if answer not in outside_answers]
    lab_text = "\n".join(cell.source for cell in lab.cells)
    for cell in lab.cells:
        assert build_labs.BEGIN_SOLUTION not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert not set(cell.metadata) & set(build_labs.VOLATILE_CELL_METADATA)
    leaked = [answer for answer in answers if answer in lab_text]
    assert not leaked, f"solution text in labs/{name}.ipynb: {leaked}"


@pytest.mark.parametrize("name", NAMES)
def test_solution_follows_the_exercise_rules(name: str) -> None:
    solution = build_labs.read(ROOT / "solutions" / f"{name}.ipynb")
    assert build_labs.lint_solution(solution, name, lab=name[:2]) == []


def test_there_are_at_least_seven_exercises() -> None:
    numbers = {
        exercise.number
        for path in SOLUTIONS
        for exercise in build_labs.exercises_of(build_labs.read(path), path.stem)
    }
    assert len(numbers) >= 7, sorted(numbers)


@pytest.mark.parametrize("name", NAMES)
def test_running_a_lab_fails_only_at_stubs_and_their_checks(
    name: str, emulator: str, record_property
) -> None:
    record_property("notebook", f"labs/{name}.ipynb")
    lab = build_labs.read(lab_path(name))
    stub_cells = {
        index
        for index, cell in enumerate(lab.cells)
        if cell.cell_type == "code" and "raise streamlab.ExerciseNotDone(" in cell.source
    }
    top_level_stubs = {
        index
        for index in stub_cells
        if any(
            line.startswith("raise streamlab.ExerciseNotDone(")
            for line in lab.cells[index].source.split("\n")
        )
    }
    check_cells = {
        index for index, cell in enumerate(lab.cells) if build_labs.checked_exercises(cell)
    }
    # Each run has its own name prefix, so nothing a solution run left behind counts as done.
    result = execute(
        lab, env={"LAB_PREFIX": f"labrun{name[:2]}-"}, cwd=ROOT / "labs", allow_errors=True
    )
    failed = {cell.index: cell for cell in result.failures}
    unexpected = {
        i: f"{c.error_name}: {c.error_value}"
        for i, c in failed.items()
        if i not in stub_cells | check_cells or c.error_name != "ExerciseNotDone"
    }
    assert not unexpected, f"labs/{name}.ipynb: cells failed other than at stubs: {unexpected}"
    assert top_level_stubs <= set(failed), "every stub cell says the exercise is not done"
    assert check_cells <= set(failed), "every check after an undone exercise says so"
    for index in check_cells:
        numbers = build_labs.checked_exercises(lab.cells[index])
        assert any(
            f"Exercise {number} is not done yet" in failed[index].error_value for number in numbers
        ), failed[index].error_value


def test_python3_kernel_is_this_environment(emulator: str, tmp_path: Path) -> None:
    """The kernelspec ``python3`` that labs name must start this .venv's Python."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(build_labs.LAB_KERNELSPEC)
    nb.cells = [nbformat.v4.new_code_cell("import sys; print(sys.prefix)")]
    result = execute(nb, env={}, cwd=tmp_path, allow_errors=False)
    printed = result.notebook.cells[0].outputs[0].text.strip()
    assert Path(printed).resolve() == Path(sys.prefix).resolve(), (
        f"kernel python3 runs {printed}, not {sys.prefix}: a kernelspec named python3 elsewhere "
        "(see `jupyter kernelspec list`) shadows this environment's"
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_lab_has_a_guide_page_with_every_exercise(name: str) -> None:
    page = ROOT / "lab_guide" / f"{name}.md"
    assert page.exists(), f"lab_guide/{name}.md is missing"
    text = page.read_text(encoding="utf-8")
    for heading in (
        "## Objectives",
        "## How you know it worked",
        "## What differs on real AWS",
        "## Instructor notes",
    ):
        assert heading in text, f"lab_guide/{name}.md lacks {heading!r}"
    for exercise in build_labs.exercises_of(build_labs.read(ROOT / "solutions" / f"{name}.ipynb")):
        assert f"### {exercise.number} " in text, f"no hint for {exercise.number} in {page.name}"
