"""Tables for people: the same text and HTML on every run."""

from __future__ import annotations

from streamlab.jupyter.result_table import EMPTY, Table


def test_text_is_aligned_and_missing_values_show_a_dash() -> None:
    table = Table(["view", "image"], [["KEYS_ONLY", None], ["NEW_IMAGE", {"b", "a"}]], caption="c")
    assert repr(table).splitlines() == [
        "c",
        "view       image",
        "---------  ------",
        f"KEYS_ONLY  {EMPTY}",
        "NEW_IMAGE  {a, b}",
    ]
    assert len(table) == 2


def test_html_escapes_cells() -> None:
    html = Table(["x"], [["<b>"]])._repr_html_()
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.startswith("<table>")
