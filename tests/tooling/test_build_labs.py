"""The lab generator: answers become stubs, outputs go, and the result never varies."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from streamlab.checks import exercise
from streamlab.checks.exercise import ExerciseNotDone
from streamlab.errors import LabError
from streamlab.tooling import build_labs

SOLUTION_CELL = """\
# Exercise 1.2: put Bob's item without a NickName
### BEGIN SOLUTION
lab.dynamodb.put_item(TableName=T, Item=BOB)
### END SOLUTION
print("after")"""


def make_solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import streamlab"),
        nbformat.v4.new_code_cell(SOLUTION_CELL),
        nbformat.v4.new_code_cell('checks.item_matches(lab, T, {}, exercise="1.2", expected={})'),
    ]
    for index, cell in enumerate(cells):
        cell.id = f"lab01-{index:02d}"
    cells[2].outputs = [nbformat.v4.new_output("stream", text="after\n")]
    cells[2].execution_count = 3
    cells[2].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    cells[2].metadata["tags"] = ["exercise", "keep-me"]
    cells[3].metadata["tags"] = ["check"]
    nb.cells = cells
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    return nb


def test_answer_becomes_a_stub_that_names_the_exercise() -> None:
    text, exercises = build_labs.strip_solutions(SOLUTION_CELL)
    assert "put_item" not in text
    assert text.splitlines() == [
        "# Exercise 1.2: put Bob's item without a NickName",
        exercise.TODO_LINE,
        "raise streamlab.ExerciseNotDone('1.2', \"put Bob's item without a NickName\")",
        'print("after")',
    ]
    assert [(e.number, e.instruction) for e in exercises] == [
        ("1.2", "put Bob's item without a NickName")
    ]


def test_stub_keeps_the_indentation_of_an_answer_inside_a_function() -> None:
    source = (
        "def to_plain(image):\n"
        "    # Exercise 2.3: return the image as plain Python values\n"
        "    ### BEGIN SOLUTION\n"
        "    return dict(image)\n"
        "    ### END SOLUTION\n"
    )
    text, _ = build_labs.strip_solutions(source)
    namespace: dict = {"streamlab": __import__("streamlab")}
    exec(text, namespace)  # the stub is valid Python at the right depth
    with pytest.raises(ExerciseNotDone, match="Exercise 2.3 is not done yet: return the image"):
        namespace["to_plain"]({})


def test_stub_raises_the_friendly_error() -> None:
    text, _ = build_labs.strip_solutions(SOLUTION_CELL)
    with pytest.raises(ExerciseNotDone) as caught:
        exec(text, {"streamlab": __import__("streamlab")})
    assert str(caught.value).startswith(
        "Exercise 1.2 is not done yet: put Bob's item without a NickName"
    )
    with pytest.raises(ExerciseNotDone, match="1.2 is not done yet: put Bob's item without a"):
        exercise.raise_if_not_done(["1.2"])  # the stub marked it pending
    exercise.forget("1.2")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "needs a line '# Exercise N.M"),
        ("# Exercise 1.1: x\n### BEGIN SOLUTION\nx = 1", "without ### END SOLUTION"),
        ("x = 1\n### END SOLUTION", "without ### BEGIN SOLUTION"),
        ("# Exercise 1.1: x\n### BEGIN SOLUTION\n### BEGIN SOLUTION", "a second"),
    ],
)
def test_malformed_markers_are_one_line_errors(source: str, problem: str) -> None:
    with pytest.raises(LabError, match=problem):
        build_labs.strip_solutions(source, name="solutions/x.ipynb", index=4)


def test_lab_has_no_outputs_counts_widget_state_or_run_metadata() -> None:
    lab = build_labs.make_lab(make_solution())
    code = [cell for cell in lab.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert "execution" not in code[1].metadata
    assert code[1].metadata["tags"] == ["exercise", "keep-me"]
    assert "widgets" not in lab.metadata
    assert lab.metadata["kernelspec"]["name"] == "python3"
    assert "version" not in lab.metadata["language_info"]


def test_a_solution_run_again_keeps_its_lab_facts_and_outputs() -> None:
    """`streamlab run-solutions` normalises what it ran: the run's metadata goes, the facts stay."""
    solution = make_solution()
    solution.metadata["streamlab"] = {"lab": "01", "title": "Basics"}
    kept = build_labs.normalise_solution(solution)
    assert kept.metadata["streamlab"] == {"lab": "01", "title": "Basics"}
    assert "widgets" not in kept.metadata and "version" not in kept.metadata["language_info"]
    assert kept.cells[2].outputs and "execution" not in kept.cells[2].metadata
    assert "streamlab" not in build_labs.normalise_solution(make_solution()).metadata


def test_the_solution_is_not_changed_by_making_its_lab() -> None:
    solution = make_solution()
    build_labs.make_lab(solution)
    assert "put_item" in solution.cells[2].source and solution.cells[2].outputs


def test_output_is_byte_identical_every_time() -> None:
    first = build_labs.dumps(build_labs.make_lab(make_solution()))
    second = build_labs.dumps(build_labs.make_lab(nbformat.reads(first, as_version=4)))
    assert first == build_labs.dumps(build_labs.make_lab(make_solution()))
    assert first == second  # building a lab from a lab changes nothing
    assert first.endswith("\n")


def test_stubs_need_streamlab_imported_first() -> None:
    solution = make_solution()
    solution.cells[1].source = "import json"
    with pytest.raises(LabError, match="import streamlab"):
        build_labs.make_lab(solution, name="solutions/x.ipynb")


def test_markers_in_markdown_are_refused() -> None:
    solution = make_solution()
    solution.cells[0].source = "### BEGIN SOLUTION"
    with pytest.raises(LabError, match="code cells only"):
        build_labs.make_lab(solution)


HINT = "<details>\n<summary>Hint for exercise 1.2</summary>\n\nUse put_item.\n</details>"


def hint_cell(text: str = HINT) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["hint"]
    return cell


def with_hint(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    solution.cells.insert(2, hint_cell())
    for index, cell in enumerate(solution.cells):
        cell.id = f"lab01-{index:02d}"
    return solution


def test_check_cells_are_found_by_their_tag_not_by_an_import_alias() -> None:
    solution = make_solution()
    assert build_labs.checked_exercises(solution.cells[3]) == ["1.2"]
    assert build_labs.checked_exercises(solution.cells[2]) == []
    readiness = nbformat.v4.new_code_cell("checks.environment_ready(lab)")
    assert build_labs.checked_exercises(readiness) == []
    renamed = nbformat.v4.new_code_cell('lab01.item_matches(lab, T, {}, exercise="1.2")')
    renamed.metadata["tags"] = ["check"]
    assert build_labs.checked_exercises(renamed) == ["1.2"]  # any alias, or none
    untagged = nbformat.v4.new_code_cell('checks.item_matches(lab, T, {}, exercise="1.2")')
    assert build_labs.checked_exercises(untagged) == []


def test_a_well_formed_solution_has_no_problems() -> None:
    solution = with_hint(make_solution())
    assert build_labs.lint_solution(solution, "x", lab="01") == []
    assert build_labs.hints_of(solution) == {"1.2": "Use put_item."}


def test_lint_finds_an_exercise_without_check_or_hint() -> None:
    solution = make_solution()
    assert build_labs.lint_solution(solution, "x") == [
        "x: exercise 1.2 needs one hint cell before it (tagged hint), found 0"
    ]
    solution.cells.pop(3)
    solution.cells.insert(2, hint_cell())
    assert build_labs.lint_solution(solution, "x") == [
        'x: exercise 1.2 has no check cell after it (tagged check, exercise="1.2")'
    ]


def test_lint_finds_cells_whose_tags_disagree_with_them() -> None:
    solution = with_hint(make_solution())
    solution.cells[4].metadata["tags"] = []  # the check cell lost its tag
    solution.cells[3].metadata["tags"] = ["keep-me"]  # the exercise cell lost its tag
    solution.cells[2].source = HINT.replace("Hint for exercise", "Need a hint for")
    solution.cells[0].metadata["tags"] = ["check"]
    problems = build_labs.lint_solution(solution, "x", lab="01")
    assert "x, cell 0: tagged check but names no exercise" not in problems  # markdown: other rule
    assert "x, cell 0: exercise and check cells are code cells" in problems
    assert "x, cell 3: holds exercise 1.2 but is not tagged exercise" in problems
    assert "x, cell 4: checks exercise 1.2 but is not tagged check" in problems
    assert any(p.startswith("x, cell 2: a hint cell is exactly <details>") for p in problems)


def test_lint_finds_cell_ids_out_of_the_scheme() -> None:
    solution = with_hint(make_solution())
    solution.cells[1].id = "876dbf0e"
    solution.cells[3].id = "lab02-03"
    assert build_labs.lint_solution(solution, "x", lab="01") == [
        "x, cell 1: cell id '876dbf0e' is not lab01-01",
        "x, cell 3: cell id 'lab02-03' is not lab01-03",
    ]


def test_check_reports_a_broken_solution_and_fails(tmp_path: Path) -> None:
    (tmp_path / "solutions").mkdir()
    solution = with_hint(make_solution())
    solution.cells[4].metadata["tags"] = []
    (tmp_path / "solutions" / "01_x.ipynb").write_text(build_labs.dumps(solution))
    results = build_labs.build_labs(tmp_path, check=True)
    invalid = [r for r in results if r.state == "invalid"]
    assert [r.detail for r in invalid][:1] == [
        "cell 4: checks exercise 1.2 but is not tagged check"
    ]
    assert all(r.stale for r in invalid)


def test_build_writes_then_check_finds_it_in_step(tmp_path: Path) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "01_x.ipynb").write_text(build_labs.dumps(with_hint(make_solution())))
    assert [r.state for r in build_labs.build_labs(tmp_path)] == ["written"]
    assert [r.state for r in build_labs.build_labs(tmp_path, check=True)] == ["unchanged"]
    lab = tmp_path / "labs" / "01_x.ipynb"
    lab.write_text(lab.read_text().replace("Title", "Edited"))
    (tmp_path / "labs" / "99_gone.ipynb").write_text("{}")
    states = [r.state for r in build_labs.build_labs(tmp_path, check=True)]
    assert states == ["differs", "orphan"]
    assert "Edited" in lab.read_text()  # --check writes nothing


def test_build_without_solutions_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="No notebooks"):
        build_labs.build_labs(tmp_path)


def test_refreshing_a_solutions_outputs_keeps_its_lab_facts() -> None:
    """run-solutions writes normalise_solution's result: the facts (the lab's source) stay."""
    from streamlab.tooling import lab_facts

    nb = nbformat.v4.new_notebook()
    nb.metadata[lab_facts.METADATA_KEY] = {"title": "Lab 99", "minutes": {"teaching": 1}}
    nb.metadata["widgets"] = {"state": "volatile"}
    kept = build_labs.normalise_solution(nb)
    assert kept.metadata[lab_facts.METADATA_KEY] == nb.metadata[lab_facts.METADATA_KEY]
    assert "widgets" not in kept.metadata
