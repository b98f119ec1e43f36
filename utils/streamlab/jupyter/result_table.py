"""A small table that shows well both in JupyterLab (HTML) and as text (nbval, terminals).

The labs show results as tables people look at (the four stream view types
side by side, the records a stream viewer saw). Each table renders the same
way on every run: cells are formatted with ``tables.format_value`` (sets
sorted), so outputs kept in ``solutions/`` can be compared by nbval.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from streamlab.aws.tables import format_value

EMPTY = "—"


def cell_text(value: Any) -> str:
    """A cell's text: ``—`` for nothing, values formatted stably."""
    if value is None:
        return EMPTY
    return value if isinstance(value, str) else format_value(value)


class Table:
    """Rows under named columns; ``_repr_html_`` for notebooks, ``repr`` for text."""

    def __init__(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = ""
    ) -> None:
        self.columns = list(columns)
        self.rows = [[cell_text(value) for value in row] for row in rows]
        self.caption = caption

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        widths = [
            max([len(column)] + [len(row[i]) for row in self.rows])
            for i, column in enumerate(self.columns)
        ]

        def line(cells: Sequence[str]) -> str:
            padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            return "  ".join(padded).rstrip()

        lines = [self.caption] if self.caption else []
        lines += [line(self.columns), line(["-" * width for width in widths])]
        lines += [line(row) for row in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='text-align:left'><code>{html.escape(cell)}</code></td>" for cell in row
            )
            + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
