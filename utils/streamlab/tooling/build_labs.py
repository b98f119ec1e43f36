"""Generates the learner notebooks in ``labs/`` from the complete ones in ``solutions/``.

``solutions/`` is the single source. In a solution, each answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` and follows, in the same cell, a
line ``# Exercise N.M: what to do``. The lab gets, in the answer's place and at
its indentation, a TODO stub that raises ``ExerciseNotDone("N.M", "what to do")``,
so running an unanswered exercise says what to do in one line. Outputs,
execution counts, widget state and run metadata are dropped, and the JSON is
written the same way every time, so ``labs/`` is byte-identical on every build
and ``build-labs --check`` can prove it is in step.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from streamlab.checks.exercise import EXERCISE_LINE, checked_exercises_in, stub_lines
from streamlab.errors import LabError

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CHECK_CALL = re.compile(r"^checks\.\w+\(", re.MULTILINE)
LAB_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Cell metadata that describes one run or one person's view, never the lesson.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime", "jupyter", "widgets")


@dataclass(frozen=True)
class Exercise:
    """One answer in a solution notebook."""

    number: str
    instruction: str
    cell_index: int


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_check_cell(cell: dict) -> bool:
    """A check cell calls one of ``streamlab.checks`` at the start of a line."""
    return cell.get("cell_type") == "code" and bool(CHECK_CALL.search(_source(cell)))


def checked_exercises(cell: dict) -> list[str]:
    """The exercise numbers a check cell checks (its ``exercise="N.M"`` arguments)."""
    if not is_check_cell(cell):
        return []
    return checked_exercises_in(_source(cell))


def _fail(name: str, index: int, problem: str) -> LabError:
    return LabError(f"{name}, cell {index}: {problem}")


def strip_solutions(
    source: str, *, name: str = "notebook", index: int = 0
) -> tuple[str, list[Exercise]]:
    """The cell's text with every answer replaced by its stub, and the exercises found."""
    lines = source.split("\n")
    result: list[str] = []
    exercises: list[Exercise] = []
    current: tuple[str, str] | None = None
    inside = False
    for line in lines:
        stripped = line.strip()
        match = EXERCISE_LINE.match(line)
        if match and not inside:
            current = (match["number"], match["instruction"])
        if stripped == BEGIN_SOLUTION:
            if inside:
                raise _fail(name, index, f"a second {BEGIN_SOLUTION} before {END_SOLUTION}")
            if current is None:
                raise _fail(
                    name,
                    index,
                    f"{BEGIN_SOLUTION} needs a line '# Exercise N.M: what to do' above it",
                )
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            result.extend(stub_lines(current[0], current[1], indent))
            exercises.append(Exercise(current[0], current[1], index))
            continue
        if stripped == END_SOLUTION:
            if not inside:
                raise _fail(name, index, f"{END_SOLUTION} without {BEGIN_SOLUTION}")
            inside = False
            continue
        if not inside:
            result.append(line)
    if inside:
        raise _fail(name, index, f"{BEGIN_SOLUTION} without {END_SOLUTION}")
    return "\n".join(result), exercises


def solution_blocks(source: str) -> Iterator[str]:
    """The text of each answer in a cell (to prove that labs hold none of it)."""
    inside = False
    block: list[str] = []
    for line in source.split("\n"):
        if line.strip() == BEGIN_SOLUTION:
            inside, block = True, []
        elif line.strip() == END_SOLUTION:
            inside = False
            yield "\n".join(block)
        elif inside:
            block.append(line)


def _clean_metadata(cell: dict) -> None:
    for key in VOLATILE_CELL_METADATA:
        cell.get("metadata", {}).pop(key, None)


def clear_outputs(nb: nbformat.NotebookNode) -> None:
    """Drop outputs, execution counts, widget state and run metadata."""
    for cell in nb.cells:
        _clean_metadata(cell)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = nbformat.from_dict(
        {"kernelspec": dict(LAB_KERNELSPEC), "language_info": {"name": "python"}}
    )


def normalise_solution(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep a solution's outputs but drop what changes on every run (timings, widget state)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        _clean_metadata(cell)
    language = nb.metadata.get("language_info", {})
    nb.metadata = nbformat.from_dict(
        {
            "kernelspec": dict(LAB_KERNELSPEC),
            "language_info": {
                key: language[key]
                for key in (
                    "codemirror_mode",
                    "file_extension",
                    "mimetype",
                    "name",
                    "nbconvert_exporter",
                    "pygments_lexer",
                )
                if key in language
            }
            or {"name": "python"},
        }
    )
    return nb


def exercises_of(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Exercise]:
    found: list[Exercise] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found.extend(strip_solutions(_source(cell), name=name, index=index)[1])
    return found


def make_lab(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The learner's notebook for one solution notebook."""
    lab = copy.deepcopy(solution)
    imports_streamlab = False
    for index, cell in enumerate(lab.cells):
        source = _source(cell)
        if cell.cell_type != "code":
            if BEGIN_SOLUTION in source or END_SOLUTION in source:
                raise _fail(name, index, "solution markers belong in code cells only")
            continue
        if re.search(r"^import streamlab\b", source, re.MULTILINE):
            imports_streamlab = True
        stripped, exercises = strip_solutions(source, name=name, index=index)
        if exercises:
            if not imports_streamlab:
                raise _fail(
                    name, index, "stubs raise streamlab.ExerciseNotDone: `import streamlab` first"
                )
        cell.source = stripped
    clear_outputs(lab)
    return lab


def lint_solution(nb: nbformat.NotebookNode, name: str = "notebook") -> list[str]:
    """What a solution notebook lacks by the kit's rules (an empty list when none)."""
    problems: list[str] = []
    exercises = exercises_of(nb, name)
    checked = {number for cell in nb.cells for number in checked_exercises(cell)}
    seen: set[str] = set()
    for exercise in exercises:
        if exercise.number in seen:
            continue
        seen.add(exercise.number)
        if exercise.number not in checked:
            number = exercise.number
            problems.append(f'{name}: exercise {number} has no check cell (exercise="{number}")')
        hint_cells = [
            cell
            for cell in nb.cells
            if cell.cell_type == "markdown"
            and "<details>" in _source(cell)
            and f"{exercise.number}" in _source(cell)
        ]
        if not hint_cells:
            problems.append(
                f"{name}: exercise {exercise.number} has no hint (a <details> block naming it)"
            )
    return problems


def dumps(nb: nbformat.NotebookNode) -> str:
    """The notebook as text, formatted the same way on every run."""
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


@dataclass(frozen=True)
class BuildResult:
    path: Path
    state: str  # "unchanged", "written", "differs", "missing", "orphan"

    def line(self, root: Path) -> str:
        return f"{self.state:9} {self.path.relative_to(root).as_posix()}"


def build_labs(root: Path, *, check: bool = False) -> list[BuildResult]:
    """Write (or, with ``check``, compare) ``labs/X.ipynb`` for every ``solutions/X.ipynb``."""
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        raise LabError(f"No notebooks in {root / 'solutions'}: run this in the streamlab checkout.")
    labs_dir = root / "labs"
    results: list[BuildResult] = []
    for solution in solutions:
        target = labs_dir / solution.name
        text = dumps(make_lab(read(solution), name=f"solutions/{solution.name}"))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            results.append(BuildResult(target, "unchanged"))
        elif check:
            results.append(BuildResult(target, "missing" if current is None else "differs"))
        else:
            labs_dir.mkdir(exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
            results.append(BuildResult(target, "written"))
    names = {solution.name for solution in solutions}
    for lab in sorted(labs_dir.glob("*.ipynb")):
        if lab.name not in names:
            results.append(BuildResult(lab, "orphan"))
    return results
