"""The guide's generated parts, from each lab's facts: pages, index and agendas.

``lab_guide/NN_*.md`` are written by hand, except between generated markers::

    <!-- BEGIN GENERATED header -->
    ... text made by `streamlab build-labs` ...
    <!-- END GENERATED header -->

Each page has a ``header`` (title, notebook, time, exercises, questions,
objectives), one ``hint N.M`` per exercise (the notebook's hint cell, word for
word), ``references`` (the AWS documentation links) and ``nav`` (previous and
next lab). ``index.md`` has ``labs`` (the table of labs, their time and what
you learn) and ``exercises`` (every exercise at a glance). ``instructor.md`` has
``agendas``: each agenda of ``lab_guide/agendas.toml`` as a timed table whose
minutes are computed from the labs' sections, and which must add up to the
agenda's own minutes.

An agenda item is either fixed (``what`` and ``minutes``: a welcome, a break) or
a lab (``lab = "04"``) that the agenda keeps whole, shortens to the sections it
names (``sections = [1, 2, 3]``; the others are left as homework), or leaves as
homework (``homework = true``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from streamlab.errors import LabError
from streamlab.tooling.lab_facts import LabFacts, reference_lines

GUIDE = "lab_guide"
AGENDAS_FILE = "agendas.toml"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN GENERATED {name} -->", f"<!-- END GENERATED {name} -->"


def replace_region(text: str, name: str, content: str, where: str) -> str:
    """``text`` with the region ``name`` holding ``content``; a missing marker is a LabError."""
    begin, end = _markers(name)
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise LabError(f"{where}: needs one region {begin} ... {end}")
    return pattern.sub(lambda _: f"{begin}\n{content.strip()}\n{end}", text)


# --- a lab's page -------------------------------------------------------------------------


def page_header(facts: LabFacts) -> str:
    """Title, notebook, time, exercises, questions and objectives of a lab's page."""
    lines = [
        f"# {facts.heading}",
        "",
        f"**Notebook:** `labs/{facts.stem}.ipynb` · **Time:** {facts.time_line()} · "
        f"**Exercises:** {facts.exercise_span()}",
        "",
        "## Questions",
        "",
        *(f"* {question}" for question in facts.questions),
        "",
        "## Objectives",
        "",
        *(f"* {objective}" for objective in facts.objectives),
    ]
    return "\n".join(lines)


def page_hint(text: str) -> str:
    """A hint as the pages show it: a quoted block that starts with **Hint.**"""
    lines = f"**Hint.** {text}".split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def page_nav(facts: LabFacts, order: Sequence[LabFacts]) -> str:
    """Links to the previous and next labs, and to the index."""
    position = [lab.stem for lab in order].index(facts.stem)
    parts = []
    if position > 0:
        previous = order[position - 1]
        parts.append(f"Previous: [{previous.heading}]({previous.stem}.md)")
    if position + 1 < len(order):
        following = order[position + 1]
        parts.append(f"Next: [{following.heading}]({following.stem}.md)")
    parts.append("[All labs](index.md)")
    return "---\n\n" + " · ".join(parts)


def render_page(
    text: str, facts: LabFacts, hints: Mapping[str, str], order: Sequence[LabFacts], where: str
) -> str:
    """A lab's page with every generated region rewritten from the facts and hints."""
    text = replace_region(text, "header", page_header(facts), where)
    for number, _ in facts.exercises:
        if number not in hints:
            raise LabError(f"{where}: exercise {number} has no hint cell in its notebook")
        text = replace_region(text, f"hint {number}", page_hint(hints[number]), where)
    text = replace_region(text, "references", "## References\n\n" + reference_lines(facts), where)
    return replace_region(text, "nav", page_nav(facts, order), where)


# --- the index ----------------------------------------------------------------------------


def index_labs(order: Sequence[LabFacts]) -> str:
    """The table of labs: what you learn and how long each takes."""
    rows = ["| # | lab | you learn | time |", "|---|---|---|---|"]
    rows += [
        f"| {lab.number} | [{lab.title}]({lab.stem}.md) | {lab.summary} | {lab.minutes} min |"
        for lab in order
    ]
    return "\n".join(rows)


def index_exercises(order: Sequence[LabFacts]) -> str:
    """Every exercise at a glance."""
    rows = ["| exercise | what you do |", "|---|---|"]
    rows += [f"| {number} | {what} |" for lab in order for number, what in lab.exercises]
    return "\n".join(rows)


# --- the agendas --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    """One line of an agenda, its minutes computed."""

    minutes: int
    what: str
    keeps: str
    notes: str


@dataclass(frozen=True)
class Agenda:
    """A workshop plan: its rows, its homework, and whether it adds up."""

    title: str
    minutes: int
    rows: tuple[AgendaRow, ...]
    homework: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(row.minutes for row in self.rows)


def _numbers(numbers: Sequence[int]) -> str:
    return ", ".join(str(number) for number in numbers)


def plan_agenda(raw: Mapping[str, Any], labs: Mapping[str, LabFacts], where: str) -> Agenda:
    """An agenda from its plan: each lab's minutes are its kept sections' minutes."""
    try:
        title, minutes, items = str(raw["title"]), int(raw["minutes"]), list(raw["item"])
    except (KeyError, TypeError, ValueError):
        raise LabError(f"{where}: an agenda needs title, minutes and [[agenda.item]]s") from None
    rows: list[AgendaRow] = []
    homework: list[str] = []
    for item in items:
        notes = str(item.get("notes", ""))
        if "lab" not in item:
            if "what" not in item or "minutes" not in item:
                raise LabError(f"{where}: {title}: an item is a lab or has what and minutes")
            rows.append(AgendaRow(int(item["minutes"]), str(item["what"]), "", notes))
            continue
        lab = labs.get(str(item["lab"]))
        if lab is None:
            raise LabError(f"{where}: {title}: there is no lab {item['lab']}")
        if item.get("homework"):
            homework.append(f"[{lab.heading}]({lab.stem}.md)")
            continue
        all_numbers = [section.number for section in lab.sections]
        kept = list(item.get("sections", all_numbers))
        unknown = sorted(set(kept) - set(all_numbers))
        if unknown:
            raise LabError(f"{where}: {title}: lab {lab.number} has no section {unknown[0]}")
        left = [number for number in all_numbers if number not in kept]
        minutes_kept = sum(section.minutes for section in lab.sections if section.number in kept)
        keeps = "all" if not left else f"sections {_numbers(kept)}; {_numbers(left)} as homework"
        rows.append(AgendaRow(minutes_kept, f"**{lab.heading}**", keeps, notes))
    return Agenda(title, minutes, tuple(rows), tuple(homework))


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def render_agenda(agenda: Agenda) -> str:
    """One agenda as a timed table, with the homework it leaves."""
    lines = [
        f"### {agenda.title} ({agenda.minutes} minutes)",
        "",
        "| time | minutes | what | keeps | notes |",
        "|---|---|---|---|---|",
    ]
    start = 0
    for row in agenda.rows:
        lines.append(
            f"| {_clock(start)} | {row.minutes} | {row.what} | {row.keeps} | {row.notes} |"
        )
        start += row.minutes
    lines += ["", f"Total: {agenda.total} minutes."]
    if agenda.homework:
        lines.append(f"Homework: {', '.join(agenda.homework)}.")
    return "\n".join(lines)


def load_agendas(path: Path, labs: Mapping[str, LabFacts]) -> list[Agenda]:
    """Every agenda of ``agendas.toml``, planned."""
    where = f"{GUIDE}/{path.name}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LabError(f"{where}: {exc}") from None
    return [plan_agenda(item, labs, where) for item in raw.get("agenda", [])]


def agenda_problems(agendas: Sequence[Agenda]) -> list[str]:
    """Agendas whose computed minutes do not add up to their title's."""
    return [
        f"{GUIDE}/{AGENDAS_FILE}: {agenda.title} adds up to {agenda.total} minutes, "
        f"not {agenda.minutes}"
        for agenda in agendas
        if agenda.total != agenda.minutes
    ]


# --- every generated file -----------------------------------------------------------------


def generated_guide(
    root: Path, order: Sequence[LabFacts], hints: Mapping[str, Mapping[str, str]]
) -> tuple[dict[Path, str], list[str]]:
    """The text every guide file should have (by path), and the problems found on the way."""
    guide = root / GUIDE
    labs = {lab.number: lab for lab in order}
    texts: dict[Path, str] = {}
    for lab in order:
        path = guide / f"{lab.stem}.md"
        where = f"{GUIDE}/{path.name}"
        if not path.exists():
            raise LabError(f"{where} is missing: every lab has a page")
        text = path.read_text(encoding="utf-8")
        texts[path] = render_page(text, lab, hints.get(lab.stem, {}), order, where)
    index = guide / "index.md"
    text = index.read_text(encoding="utf-8")
    text = replace_region(text, "labs", index_labs(order), f"{GUIDE}/index.md")
    texts[index] = replace_region(text, "exercises", index_exercises(order), f"{GUIDE}/index.md")
    agendas = load_agendas(guide / AGENDAS_FILE, labs)
    instructor = guide / "instructor.md"
    texts[instructor] = replace_region(
        instructor.read_text(encoding="utf-8"),
        "agendas",
        "\n\n".join(render_agenda(agenda) for agenda in agendas),
        f"{GUIDE}/instructor.md",
    )
    return texts, agenda_problems(agendas)
