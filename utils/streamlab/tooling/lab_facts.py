"""Each lab's facts, stated once: in its solution notebook's metadata.

A lab is described in five places (its notebook's header, its key points and
references, its guide page, the guide's index and the instructor agendas).
Carpentries computes its schedule from each episode's front matter; here the
front matter is the ``streamlab`` entry of the solution notebook's metadata::

    "streamlab": {
      "title": "the event-driven application",
      "minutes": {"teaching": 15, "hands_on": 40},
      "summary": "what the index says you learn",
      "questions": ["..."], "objectives": ["..."], "key_points": ["..."],
      "exercises": {"4.1": "what you do, for the index"},
      "sections": [{"title": "The two tables", "minutes": 5}, ...],
      "prerequisites": [{"lab": "03", "about": "...", "importance": "necessary"},
                        {"concept": "Python dictionaries", "importance": "necessary",
                         "minutes": 10}],
      "references": [{"title": "...", "url": "https://docs.aws.amazon.com/..."}]
    }

Everything else is generated from it by ``streamlab build-labs`` (this module
renders the notebook's own cells; ``lab_guide`` the pages), and
``build-labs --check`` fails when a copy drifts. The facts are checked too: the
sections' minutes add up to the lab's, every exercise of the notebook is
listed, each section's title is the notebook's ``## N. Title`` heading, every
reference is an AWS documentation link. A prerequisite that is another lab
takes that lab's minutes, so no lab's time is typed twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nbformat

from streamlab.errors import LabError

METADATA_KEY = "streamlab"
# Tags of the notebook cells generated from the facts (their text is never edited by hand).
HEADER_TAG = "lab-header"
KEY_POINTS_TAG = "key-points"
REFERENCES_TAG = "references"
GENERATED_TAGS = (HEADER_TAG, KEY_POINTS_TAG, REFERENCES_TAG)
AWS_DOCS = "https://docs.aws.amazon.com/"


@dataclass(frozen=True)
class Section:
    """One numbered section of a lab, with the minutes it takes in a workshop."""

    number: int
    title: str
    minutes: int


@dataclass(frozen=True)
class Reference:
    """A page of AWS documentation to read next."""

    title: str
    url: str


@dataclass(frozen=True)
class Prerequisite:
    """What to know first: another lab (``lab``) or a concept, with the time to learn it."""

    importance: str
    lab: str | None = None  # "03": that lab, its minutes from its own facts
    about: str = ""  # for a lab: what of it this lab needs
    concept: str = ""
    minutes: int | None = None  # for a concept; None: nothing to learn


@dataclass(frozen=True)
class LabFacts:
    """What is true of one lab, read from its solution notebook."""

    stem: str  # "04_event_driven_app"
    title: str
    teaching: int
    hands_on: int
    summary: str
    questions: tuple[str, ...]
    objectives: tuple[str, ...]
    key_points: tuple[str, ...]
    exercises: tuple[tuple[str, str], ...]  # (number, what you do)
    sections: tuple[Section, ...]
    references: tuple[Reference, ...]
    prerequisites: tuple[Prerequisite, ...] = ()

    @property
    def number(self) -> str:
        """``"04"``."""
        return self.stem[:2]

    @property
    def minutes(self) -> int:
        """The whole lab: teaching and hands-on."""
        return self.teaching + self.hands_on

    @property
    def heading(self) -> str:
        """``Lab 04: the event-driven application``."""
        return f"Lab {self.number}: {self.title}"

    def time_line(self) -> str:
        """``15 minutes teaching, 40 minutes hands-on``."""
        parts = []
        if self.teaching:
            parts.append(f"{self.teaching} minutes teaching")
        parts.append(f"{self.hands_on} minutes hands-on")
        return ", ".join(parts)

    def exercise_span(self) -> str:
        """``4.1–4.3``, ``1.1``, or ``none``."""
        numbers = [number for number, _ in self.exercises]
        if not numbers:
            return "none"
        return numbers[0] if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"


def _text(value: Any, field: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabError(f"{where}: metadata {METADATA_KEY}.{field} must be a non-empty string")
    return value.strip()


def _texts(value: Any, field: str, where: str, *, empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not empty):
        raise LabError(f"{where}: metadata {METADATA_KEY}.{field} must be a list of strings")
    return tuple(_text(item, field, where) for item in value)


def _minutes(value: Any, field: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LabError(f"{where}: metadata {METADATA_KEY}.{field} must be a whole number ≥ 0")
    return value


def facts_of(nb: nbformat.NotebookNode, stem: str) -> LabFacts:
    """The facts in a solution notebook's metadata; a missing or bad field is one-line LabError."""
    where = f"solutions/{stem}.ipynb"
    raw = nb.metadata.get(METADATA_KEY)
    if not isinstance(raw, Mapping):
        raise LabError(f"{where}: no lab facts (notebook metadata {METADATA_KEY!r})")
    minutes = raw.get("minutes")
    if not isinstance(minutes, Mapping):
        raise LabError(f"{where}: metadata {METADATA_KEY}.minutes has teaching and hands_on")
    exercises = raw.get("exercises", {})
    if not isinstance(exercises, Mapping):
        raise LabError(f"{where}: metadata {METADATA_KEY}.exercises maps N.M to what you do")
    sections = raw.get("sections")
    if not isinstance(sections, list) or not sections:
        raise LabError(f"{where}: metadata {METADATA_KEY}.sections lists the lab's sections")
    references = raw.get("references")
    if not isinstance(references, list) or not references:
        raise LabError(f"{where}: metadata {METADATA_KEY}.references lists AWS documentation")
    prerequisites = raw.get("prerequisites", [])
    if not isinstance(prerequisites, list):
        raise LabError(f"{where}: metadata {METADATA_KEY}.prerequisites must be a list")
    return LabFacts(
        stem=stem,
        prerequisites=tuple(_prerequisite(item, where) for item in prerequisites),
        title=_text(raw.get("title"), "title", where),
        teaching=_minutes(minutes.get("teaching"), "minutes.teaching", where),
        hands_on=_minutes(minutes.get("hands_on"), "minutes.hands_on", where),
        summary=_text(raw.get("summary"), "summary", where),
        questions=_texts(raw.get("questions"), "questions", where),
        objectives=_texts(raw.get("objectives"), "objectives", where),
        key_points=_texts(raw.get("key_points"), "key_points", where),
        exercises=tuple(
            (str(number), _text(text, f"exercises.{number}", where))
            for number, text in exercises.items()
        ),
        sections=tuple(
            Section(
                index,
                _text(section.get("title"), f"sections[{index - 1}].title", where),
                _minutes(section.get("minutes"), f"sections[{index - 1}].minutes", where),
            )
            for index, section in enumerate(sections, start=1)
        ),
        references=tuple(
            Reference(
                _text(reference.get("title"), "references.title", where),
                _text(reference.get("url"), "references.url", where),
            )
            for reference in references
        ),
    )


def _prerequisite(item: Any, where: str) -> Prerequisite:
    if not isinstance(item, Mapping):
        raise LabError(f"{where}: each of {METADATA_KEY}.prerequisites is an object")
    importance = _text(item.get("importance"), "prerequisites.importance", where)
    if item.get("lab") is not None:
        return Prerequisite(importance, lab=str(item["lab"]), about=str(item.get("about", "")))
    minutes = item.get("minutes")
    return Prerequisite(
        importance,
        concept=_text(item.get("concept"), "prerequisites.concept", where),
        minutes=None if minutes is None else _minutes(minutes, "prerequisites.minutes", where),
    )


SECTION_HEADING = re.compile(r"^## (?P<number>\d+)\. (?P<title>.+?)\s*$", re.MULTILINE)


def section_headings(nb: nbformat.NotebookNode) -> list[str]:
    """The titles of the notebook's ``## N. Title`` headings, in order."""
    return [
        match["title"]
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for match in SECTION_HEADING.finditer(cell.source)
    ]


def fact_problems(
    facts: LabFacts,
    exercise_numbers: list[str],
    headings: list[str],
    known_labs: Mapping[str, LabFacts],
) -> list[str]:
    """Where the facts disagree with themselves, the notebook, or the other labs."""
    problems: list[str] = []
    where = f"solutions/{facts.stem}.ipynb"
    titles = [section.title for section in facts.sections]
    if titles != headings:
        problems.append(f"{where}: facts name sections {titles}, the headings are {headings}")
    for prerequisite in facts.prerequisites:
        if prerequisite.lab is not None and prerequisite.lab not in known_labs:
            problems.append(f"{where}: prerequisite lab {prerequisite.lab} does not exist")
    in_sections = sum(section.minutes for section in facts.sections)
    if in_sections != facts.minutes:
        problems.append(
            f"{where}: the sections take {in_sections} minutes, the lab {facts.minutes} "
            f"({facts.time_line()})"
        )
    listed = [number for number, _ in facts.exercises]
    unique = list(dict.fromkeys(exercise_numbers))
    if listed != unique:
        problems.append(f"{where}: facts list exercises {listed}, the notebook has {unique}")
    for reference in facts.references:
        if not reference.url.startswith(AWS_DOCS):
            problems.append(f"{where}: reference {reference.url} is not under {AWS_DOCS}")
    return problems


def _bullets(items: tuple[str, ...]) -> str:
    return "\n".join(f"* {item}" for item in items)


def prerequisites_block(facts: LabFacts, labs: Mapping[str, LabFacts]) -> str:
    """The prerequisites table; a lab's time to learn is that lab's minutes."""
    if not facts.prerequisites:
        return "**Prerequisites:** none."
    rows = ["| concept | importance | time to learn |", "|---|---|---|"]
    for item in facts.prerequisites:
        if item.lab is not None:
            other = labs[item.lab]
            concept = f"[{other.heading}]({other.stem}.ipynb)"
            concept += f": {item.about}" if item.about else ""
            minutes = f"{other.minutes} minutes"
        else:
            concept = item.concept
            minutes = "—" if item.minutes is None else f"{item.minutes} minutes"
        rows.append(f"| {concept} | {item.importance} | {minutes} |")
    return "**Prerequisites**\n\n" + "\n".join(rows)


def overview_line(facts: LabFacts) -> str:
    """``1. The two tables · 2. ...``: the sections, in order."""
    return " · ".join(f"{section.number}. {section.title}" for section in facts.sections)


def header_cell(facts: LabFacts, labs: Mapping[str, LabFacts]) -> str:
    """The notebook's first cell: title, time, questions, objectives, prerequisites, overview."""
    return (
        f"# {facts.heading}\n\n"
        f"**Time:** {facts.time_line()}. **Exercises:** {facts.exercise_span()}.\n\n"
        f"**Questions**\n{_bullets(facts.questions)}\n\n"
        f"**Objectives**\n{_bullets(facts.objectives)}\n\n"
        f"{prerequisites_block(facts, labs)}\n\n"
        f"**Overview:** {overview_line(facts)}"
    )


def key_points_cell(facts: LabFacts) -> str:
    """The notebook's key points, near its end."""
    return f"## Key points\n\n{_bullets(facts.key_points)}"


def reference_lines(facts: LabFacts) -> str:
    """The references as a Markdown list (the notebook and the guide page show the same)."""
    return "\n".join(f"* [{reference.title}]({reference.url})" for reference in facts.references)


def references_cell(facts: LabFacts) -> str:
    """The notebook's References section: the AWS documentation behind the lab."""
    return f"## References\n\n{reference_lines(facts)}"


def apply_facts(
    nb: nbformat.NotebookNode, facts: LabFacts, labs: Mapping[str, LabFacts]
) -> list[str]:
    """Rewrite the generated cells from the facts; return the tags of the cells that changed.

    Each generated tag must be on exactly one markdown cell (a LabError says which is not).
    """
    renderers = {
        HEADER_TAG: lambda: header_cell(facts, labs),
        KEY_POINTS_TAG: lambda: key_points_cell(facts),
        REFERENCES_TAG: lambda: references_cell(facts),
    }
    changed: list[str] = []
    for tag, render in renderers.items():
        cells = [cell for cell in nb.cells if tag in cell.get("metadata", {}).get("tags", [])]
        if len(cells) != 1 or cells[0].cell_type != "markdown":
            raise LabError(
                f"solutions/{facts.stem}.ipynb: one markdown cell must be tagged {tag!r} "
                f"(found {len(cells)})"
            )
        text = render()
        if cells[0].source != text:
            cells[0].source = text
            changed.append(tag)
    return changed
