"""Generates the learner notebooks in ``labs/`` from the complete ones in ``solutions/``.

``solutions/`` is the single source. In a solution, each answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` and follows, in the same cell, a
line ``# Exercise N.M: what to do`` (the rules of that line and of the stub live
in ``streamlab.checks.exercise``). The lab gets, in the answer's place and at its
indentation, a TODO stub that raises ``ExerciseNotDone("N.M", "what to do")``,
so running an unanswered exercise says what to do in one line. Outputs,
execution counts, widget state and run metadata are dropped, and the JSON is
written the same way every time, so ``labs/`` is byte-identical on every build
and ``build-labs --check`` can prove it is in step.

A cell's role is kept in its metadata, as nbgrader does, never guessed from
its code: the cell tag ``exercise`` marks a cell holding an answer, ``check`` a
cell that checks exercises (its calls name them: ``exercise="N.M"``), ``hint``
a markdown cell holding one exercise's hint in the one style
``<details><summary>Hint for exercise N.M</summary> ... </details>``. Cell ids
are ``labNN-MM``, in order. ``lint_solution`` (run by ``build-labs --check``)
proves the tags agree with the cells: every exercise has one hint before it and
a check cell after it, and no cell plays a role without its tag.
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
from streamlab.tooling import lab_facts, lab_guide

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"
HINT_TAG = "hint"
ROLE_TAGS = (EXERCISE_TAG, CHECK_TAG, HINT_TAG)
# A hint cell, whole: the one style every lab uses.
HINT_CELL = re.compile(
    r"\A<details>\n<summary>Hint for exercise (?P<number>\d+\.\d+)</summary>\n\n"
    r"(?P<text>\S.*?)\n</details>\Z",
    re.DOTALL,
)
CELL_ID = re.compile(r"\Alab(?P<lab>\d\d)-(?P<index>\d{2,3})\Z")
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


def tags(cell: dict) -> list[str]:
    """The cell's tags (its metadata), where a cell's role is kept."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_check_cell(cell: dict) -> bool:
    """A check cell is a code cell tagged ``check``."""
    return cell.get("cell_type") == "code" and CHECK_TAG in tags(cell)


def checked_exercises(cell: dict) -> list[str]:
    """The exercise numbers a check cell checks (its ``exercise="N.M"`` arguments)."""
    if not is_check_cell(cell):
        return []
    return checked_exercises_in(_source(cell))


def hint_of(cell: dict) -> tuple[str, str] | None:
    """``(exercise number, hint text)`` of a cell tagged ``hint`` in the one style, else None."""
    if cell.get("cell_type") != "markdown" or HINT_TAG not in tags(cell):
        return None
    match = HINT_CELL.match(_source(cell).strip())
    return (match["number"], match["text"].strip()) if match else None


def hints_of(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Each exercise's hint text, by exercise number (the guide pages repeat them)."""
    found: dict[str, str] = {}
    for cell in nb.cells:
        hint = hint_of(cell)
        if hint is not None:
            found.setdefault(hint[0], hint[1])
    return found


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
    facts = nb.metadata.get(lab_facts.METADATA_KEY)  # the lab's facts are the source, kept
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
            **({lab_facts.METADATA_KEY: facts} if facts is not None else {}),
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


def lint_solution(
    nb: nbformat.NotebookNode, name: str = "notebook", lab: str | None = None
) -> list[str]:
    """What a solution notebook lacks by the kit's rules (an empty list when none).

    ``lab`` (``"04"``) also checks that cell ids are ``labNN-MM`` in order.
    """
    problems: list[str] = []
    exercise_at: dict[str, int] = {}
    hints_at: dict[str, list[int]] = {}
    checks_at: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        source = _source(cell)
        roles = [tag for tag in tags(cell) if tag in ROLE_TAGS]
        if len(roles) > 1:
            problems.append(f"{where}: one role per cell, not {roles}")
        if lab is not None:
            match = CELL_ID.match(str(cell.get("id", "")))
            if not match or match["lab"] != lab or int(match["index"]) != index:
                problems.append(f"{where}: cell id {cell.get('id')!r} is not lab{lab}-{index:02d}")
        if cell.cell_type == "code":
            answers = [e.number for e in strip_solutions(source, name=name, index=index)[1]]
            if answers and EXERCISE_TAG not in roles:
                problems.append(f"{where}: holds exercise {answers[0]} but is not tagged exercise")
            if EXERCISE_TAG in roles and not answers:
                problems.append(f"{where}: tagged exercise but holds no answer")
            for number in answers:
                exercise_at.setdefault(number, index)
            numbers = checked_exercises_in(source)
            if numbers and CHECK_TAG not in roles:
                problems.append(f"{where}: checks exercise {numbers[0]} but is not tagged check")
            if CHECK_TAG in roles and not numbers:
                problems.append(f'{where}: tagged check but names no exercise="N.M"')
            for number in numbers if CHECK_TAG in roles else []:
                checks_at.setdefault(number, []).append(index)
            if HINT_TAG in roles:
                problems.append(f"{where}: a hint is a markdown cell")
        else:
            hint = hint_of(cell)
            if HINT_TAG in roles and hint is None:
                problems.append(
                    f"{where}: a hint cell is exactly <details>, <summary>Hint for exercise N.M"
                    "</summary>, a blank line, the hint and </details>"
                )
            elif hint is not None:
                hints_at.setdefault(hint[0], []).append(index)
            elif "<details>" in source:
                problems.append(f"{where}: a <details> block outside a cell tagged hint")
            if set(roles) & {EXERCISE_TAG, CHECK_TAG}:
                problems.append(f"{where}: exercise and check cells are code cells")
    for number, index in exercise_at.items():
        if not any(at > index for at in checks_at.get(number, [])):
            problems.append(
                f"{name}: exercise {number} has no check cell after it "
                f'(tagged check, exercise="{number}")'
            )
        hints = hints_at.get(number, [])
        if len(hints) != 1 or hints[0] > index:
            problems.append(
                f"{name}: exercise {number} needs one hint cell before it (tagged hint), "
                f"found {len(hints)}"
            )
    for number in sorted(set(hints_at) - set(exercise_at)):
        problems.append(f"{name}: a hint for exercise {number}, which this lab does not have")
    for number in sorted(set(checks_at) - set(exercise_at)):
        problems.append(f"{name}: a check of exercise {number}, which this lab does not have")
    return problems


def dumps(nb: nbformat.NotebookNode) -> str:
    """The notebook as text, formatted the same way on every run."""
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


@dataclass(frozen=True)
class BuildResult:
    """One generated file's state, or (``invalid``) one rule a solution breaks."""

    path: Path
    state: str  # "unchanged", "written", "differs", "missing", "orphan", "invalid"
    detail: str = ""

    @property
    def stale(self) -> bool:
        """True when ``build-labs --check`` must fail for this result."""
        return self.state in ("differs", "missing", "orphan", "invalid")

    def line(self, root: Path) -> str:
        text = f"{self.state:9} {self.path.relative_to(root).as_posix()}"
        return f"{text}: {self.detail}" if self.detail else text


def _write_or_compare(path: Path, text: str, check: bool) -> BuildResult:
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current == text:
        return BuildResult(path, "unchanged")
    if check:
        return BuildResult(path, "missing" if current is None else "differs")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return BuildResult(path, "written")


def _invalid(path: Path, name: str, problems: list[str]) -> list[BuildResult]:
    return [
        BuildResult(path, "invalid", problem.removeprefix(name).lstrip(":, "))
        for problem in problems
    ]


def build_labs(root: Path, *, check: bool = False) -> list[BuildResult]:
    """Write (or, with ``check``, compare) everything generated from ``solutions/``.

    In order: each solution's generated cells (header, key points, references,
    from its facts: ``lab_facts``), ``labs/X.ipynb`` for every
    ``solutions/X.ipynb``, and, when the checkout has a ``lab_guide/``, the
    guide's generated regions (``lab_guide``). Rule breaks come back as
    ``invalid`` results, so one run reports all of them.
    """
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        raise LabError(f"No notebooks in {root / 'solutions'}: run this in the streamlab checkout.")
    labs_dir = root / "labs"
    with_guide = (root / lab_guide.GUIDE).is_dir()
    notebooks = {solution: read(solution) for solution in solutions}
    results: list[BuildResult] = []
    facts: dict[Path, lab_facts.LabFacts] = {}
    if with_guide:
        for solution, notebook in notebooks.items():
            try:
                facts[solution] = lab_facts.facts_of(notebook, solution.stem)
            except LabError as exc:
                results.append(BuildResult(solution, "invalid", str(exc).split(": ", 1)[-1]))
    by_number = {lab.number: lab for lab in facts.values()}
    hints: dict[str, dict[str, str]] = {}
    for solution, notebook in notebooks.items():
        name = f"solutions/{solution.name}"
        results += _invalid(solution, name, lint_solution(notebook, name, lab=solution.name[:2]))
        if solution in facts:
            numbers = [exercise.number for exercise in exercises_of(notebook, name)]
            headings = lab_facts.section_headings(notebook)
            problems = lab_facts.fact_problems(facts[solution], numbers, headings, by_number)
            results += _invalid(solution, name, problems)
            try:
                if lab_facts.apply_facts(notebook, facts[solution], by_number):
                    results.append(_write_or_compare(solution, dumps(notebook), check))
            except LabError as exc:
                results += _invalid(solution, name, [str(exc)])
        hints[solution.stem] = hints_of(notebook)
        lab_text = dumps(make_lab(notebook, name=name))
        results.append(_write_or_compare(labs_dir / solution.name, lab_text, check))
    names = {solution.name for solution in solutions}
    for lab in sorted(labs_dir.glob("*.ipynb")):
        if lab.name not in names:
            results.append(BuildResult(lab, "orphan"))
    if with_guide and len(facts) == len(solutions):
        order = [facts[solution] for solution in solutions]
        try:
            texts, problems = lab_guide.generated_guide(root, order, hints)
        except LabError as exc:
            return [*results, BuildResult(root / lab_guide.GUIDE, "invalid", str(exc))]
        results += _invalid(root / lab_guide.GUIDE, "", problems)
        results += [_write_or_compare(path, text, check) for path, text in texts.items()]
    return results
