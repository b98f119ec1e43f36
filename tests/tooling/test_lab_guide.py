"""Each lab's facts are stated once, in its solution's metadata; every copy is generated."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from streamlab.errors import LabError
from streamlab.tooling import build_labs, lab_facts, lab_guide

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the repository's solutions, labs and guide, to break on purpose."""
    for folder in ("solutions", "labs", "lab_guide"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def stale(root: Path) -> list[str]:
    return [
        f"{r.state} {r.path.relative_to(root).as_posix()} {r.detail}".strip()
        for r in build_labs.build_labs(root, check=True)
        if r.stale
    ]


def edit_facts(root: Path, stem: str, **changes: object) -> None:
    path = root / "solutions" / f"{stem}.ipynb"
    nb = build_labs.read(path)
    nb.metadata[lab_facts.METADATA_KEY].update(changes)
    path.write_text(build_labs.dumps(nb), encoding="utf-8")


def test_the_repository_is_in_step(checkout: Path) -> None:
    assert stale(checkout) == []


def test_a_lab_s_minutes_flow_into_the_index_the_prerequisites_and_the_agendas(
    checkout: Path,
) -> None:
    edit_facts(
        checkout,
        "04_event_driven_app",
        minutes={"teaching": 15, "hands_on": 45},
        sections=[
            {"title": title, "minutes": minutes}
            for title, minutes in [
                ("The two tables", 4),
                ("The game console", 5),
                ("The aggregator", 20),
                ("The event source mapping", 7),
                ("A burst of games, live", 8),
                ("Prove it", 10),
                ("The function's logs", 4),
                ("Clean up", 2),
            ]
        ],
    )
    problems = stale(checkout)
    assert "differs solutions/04_event_driven_app.ipynb" in problems  # its header cell
    assert "differs solutions/05_reliability.ipynb" in problems  # lab 04 is its prerequisite
    assert "differs lab_guide/index.md" in problems
    assert "differs lab_guide/04_event_driven_app.md" in problems
    assert any(
        "Three hours: the full workshop adds up to 185 minutes, not 180" in p for p in problems
    )
    build_labs.build_labs(checkout)  # writes what it can; the agendas still do not add up
    assert "| 04 | [the event-driven application](04_event_driven_app.md) |" in (
        checkout / "lab_guide" / "index.md"
    ).read_text(encoding="utf-8")
    assert "| 60 min |" in (checkout / "lab_guide" / "index.md").read_text(encoding="utf-8")
    lab05 = build_labs.read(checkout / "solutions" / "05_reliability.ipynb")
    assert "| helpful | 60 minutes |" in lab05.cells[0].source


def test_sections_must_add_up_to_the_lab_and_match_its_headings(checkout: Path) -> None:
    nb = build_labs.read(checkout / "solutions" / "01_dynamodb_basics.ipynb")
    sections = nb.metadata["streamlab"]["sections"]
    sections[0]["minutes"] += 1
    sections[1]["title"] = "Attribute kinds"
    edit_facts(checkout, "01_dynamodb_basics", sections=sections)
    problems = stale(checkout)
    assert any("the sections take 36 minutes, the lab 35" in p for p in problems)
    assert any("facts name sections" in p and "Attribute kinds" in p for p in problems)


def test_an_edited_generated_region_is_drift(checkout: Path) -> None:
    page = checkout / "lab_guide" / "01_dynamodb_basics.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("> **Hint.** Copy", "> **Hint.** Paste"),
        encoding="utf-8",
    )
    assert stale(checkout) == ["differs lab_guide/01_dynamodb_basics.md"]
    build_labs.build_labs(checkout)
    assert stale(checkout) == []  # the notebook's hint wins
    assert "> **Hint.** Copy" in page.read_text(encoding="utf-8")


def test_hand_written_text_outside_the_markers_is_kept(checkout: Path) -> None:
    page = checkout / "lab_guide" / "02_streams.md"
    text = page.read_text(encoding="utf-8").replace("## Steps", "## Steps\n\nA new note.")
    page.write_text(text, encoding="utf-8")
    assert stale(checkout) == []
    assert "A new note." in page.read_text(encoding="utf-8")


def test_a_page_without_its_markers_is_invalid(checkout: Path) -> None:
    page = checkout / "lab_guide" / "03_lambda.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("<!-- END GENERATED hint 3.2 -->", ""),
        encoding="utf-8",
    )
    assert any("needs one region <!-- BEGIN GENERATED hint 3.2 -->" in p for p in stale(checkout))


def test_facts_must_list_the_notebook_s_exercises_and_link_aws_docs(checkout: Path) -> None:
    edit_facts(
        checkout,
        "02_streams",
        exercises={"2.1": "a", "2.2": "b", "2.3": "c"},
        references=[{"title": "a blog", "url": "https://example.com/streams"}],
    )
    problems = stale(checkout)
    assert any(
        "facts list exercises ['2.1', '2.2', '2.3'], the notebook has" in p for p in problems
    )
    assert any(
        "https://example.com/streams is not under https://docs.aws.amazon.com/" in p
        for p in problems
    )


def test_missing_facts_are_one_line() -> None:
    nb = nbformat.v4.new_notebook()
    with pytest.raises(LabError, match="solutions/07_x.ipynb: no lab facts"):
        lab_facts.facts_of(nb, "07_x")
    nb.metadata["streamlab"] = {"title": "x", "minutes": {"teaching": "ten"}}
    with pytest.raises(LabError, match="exercises|sections|minutes"):
        lab_facts.facts_of(nb, "07_x")


def test_an_agenda_keeps_shortens_or_leaves_labs_as_homework() -> None:
    labs = {
        facts.number: facts
        for facts in (
            lab_facts.facts_of(build_labs.read(path), path.stem)
            for path in sorted((ROOT / "solutions").glob("*.ipynb"))
        )
    }
    plan = {
        "title": "An hour",
        "minutes": 60,
        "item": [
            {"what": "welcome", "minutes": 5},
            {"lab": "00"},
            {"lab": "04", "sections": [1, 3]},
            {"lab": "06", "homework": True},
        ],
    }
    agenda = lab_guide.plan_agenda(plan, labs, "x")
    sections = {section.number: section.minutes for section in labs["04"].sections}
    assert [row.minutes for row in agenda.rows] == [
        5,
        labs["00"].minutes,
        sections[1] + sections[3],
    ]
    assert agenda.rows[2].keeps.startswith("sections 1, 3; 2, 4, 5")
    assert agenda.homework == ("[Lab 06: replication and analytics](06_replication_analytics.md)",)
    assert lab_guide.agenda_problems([agenda]) == [
        f"lab_guide/agendas.toml: An hour adds up to {agenda.total} minutes, not 60"
    ]
    with pytest.raises(LabError, match="lab 04 has no section 9"):
        lab_guide.plan_agenda({**plan, "item": [{"lab": "04", "sections": [9]}]}, labs, "x")


def test_every_agenda_of_the_guide_adds_up_to_its_title() -> None:
    labs = {
        facts.number: facts
        for facts in (
            lab_facts.facts_of(build_labs.read(path), path.stem)
            for path in sorted((ROOT / "solutions").glob("*.ipynb"))
        )
    }
    agendas = lab_guide.load_agendas(ROOT / "lab_guide" / "agendas.toml", labs)
    assert len(agendas) >= 2
    for agenda in agendas:
        assert agenda.total == agenda.minutes, agenda.title
        assert f"{agenda.minutes} minutes" in lab_guide.render_agenda(agenda).splitlines()[0]


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_each_lab_has_references_to_aws_documentation_in_notebook_and_page(path: Path) -> None:
    nb = build_labs.read(ROOT / "labs" / path.name)
    cells = [cell for cell in nb.cells if lab_facts.REFERENCES_TAG in cell.metadata.get("tags", [])]
    assert len(cells) == 1 and cells[0].source.startswith("## References")
    assert "](https://docs.aws.amazon.com/" in cells[0].source
    page = (ROOT / "lab_guide" / f"{path.stem}.md").read_text(encoding="utf-8")
    assert cells[0].source in page
