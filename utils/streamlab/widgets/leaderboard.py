"""A live leaderboard: GameScoresByUser as a sorted table with bars, refreshed as it changes.

Lab 04's payoff is watching the aggregate move while games are played: the
table is re-read in a background thread and the widget changes only when the
totals do. The bars are plain HTML/CSS, so nothing beyond ipywidgets is needed.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from streamlab.apps import game
from streamlab.aws.session import Lab

from .background import LiveWidget, error_line, refresh_loop

TABLE_CLASS = "streamlab-leaderboard"
ROW_CLASS = "streamlab-leaderboard-row"
STATUS_CLASS = "streamlab-leaderboard-status"
EMPTY_TEXT = "No scores yet: submit a game or simulate some."


def render_html(rows: list[dict[str, Any]], *, title: str = "Leaderboard") -> str:
    """The leaderboard as an HTML table with one bar per player (longest = top score)."""
    if not rows:
        return f'<div class="{TABLE_CLASS}-empty"><b>{html.escape(title)}</b>: {EMPTY_TEXT}</div>'
    top = max(row["TotalScore"] for row in rows) or 1
    cells = "padding:2px 8px;border-bottom:1px solid #ddd"
    right = f"{cells};text-align:right;font-variant-numeric:tabular-nums"
    lines = [
        f'<table class="{TABLE_CLASS}" style="border-collapse:collapse">',
        f'<caption style="text-align:left;font-weight:bold">{html.escape(title)}</caption>',
        "<thead><tr>"
        + "".join(
            f'<th style="{cells}">{name}</th>'
            for name in ("#", "Player", "Total score", "Games", "Best", "")
        )
        + "</tr></thead><tbody>",
    ]
    for rank, row in enumerate(rows, start=1):
        name = html.escape(row["PlayerName"])
        width = max(100 * row["TotalScore"] / top, 0.5)
        lines.append(
            f'<tr class="{ROW_CLASS}" data-player="{name}" data-total="{row["TotalScore"]}">'
            f'<td style="{right}">{rank}</td><td style="{cells}">{name}</td>'
            f'<td style="{right}">{row["TotalScore"]}</td>'
            f'<td style="{right}">{row["GamesPlayed"]}</td>'
            f'<td style="{right}">{row["BestScore"]}</td>'
            f'<td style="{cells};width:240px"><div style="background:#4c9be8;height:0.9em;'
            f'width:{width:.1f}%"></div></td></tr>'
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def render_text(rows: list[dict[str, Any]], *, title: str = "Leaderboard") -> str:
    """The same table as plain text: what a headless run (nbval) shows and compares."""
    if not rows:
        return f"{title}: {EMPTY_TEXT}"
    width = max(len("Player"), *(len(row["PlayerName"]) for row in rows))
    lines = [f"{title}", f"{'#':>2}  {'Player':<{width}}  {'Total':>7}  {'Games':>5}  {'Best':>5}"]
    for rank, row in enumerate(rows, start=1):
        lines.append(
            f"{rank:>2}  {row['PlayerName']:<{width}}  {row['TotalScore']:>7}  "
            f"{row['GamesPlayed']:>5}  {row['BestScore']:>5}"
        )
    return "\n".join(lines)


class Snapshot:
    """A static view (text and HTML) that any front end, or none, can show."""

    def __init__(self, text: str, html_text: str) -> None:
        self.text = text
        self.html = html_text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


class Leaderboard(LiveWidget):
    """GameScoresByUser, sorted by total score, refreshed every ``interval`` seconds.

    ``Leaderboard(lab)`` as the last line of a cell shows it and starts refreshing;
    ``stop()`` ends the refresh (it also ends when the kernel shuts down). In test
    mode (``LAB_TEST_MODE=1``) it refreshes ``test_steps`` times, waits for that in
    the same cell, and shows a static snapshot.
    """

    def __init__(
        self,
        lab: Lab,
        *,
        limit: int | None = 10,
        interval: float = 1.0,
        test_steps: int = 2,
        title: str = "Leaderboard",
        fetch: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.lab = lab
        self.limit = limit
        self.title = title
        self.test_steps = test_steps
        lab.dynamodb  # noqa: B018 - create the client here, not concurrently in the thread
        self._fetch = fetch or (lambda: game.leaderboard(lab))
        self.rows: list[dict[str, Any]] | None = None
        self.error: str | None = None
        self.table = widgets.HTML(value=f"<i>{html.escape(title)}: loading…</i>")
        self.status = widgets.HTML(value="")
        self.status.add_class(STATUS_CLASS)
        self.widget = widgets.VBox([self.table, self.status])
        self.widget.add_class("streamlab-leaderboard-widget")
        self.loop = refresh_loop(
            self.refresh, interval=interval, test_steps=test_steps, name="streamlab-leaderboard"
        )

    # -- data ------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Read the totals once; change the widget only if they changed. True if they did."""
        try:
            rows = self._fetch()
        except Exception as exc:  # noqa: BLE001 - shown as one line, never a traceback
            message = error_line(exc)
            if message != self.error:
                self.error = message
                self.status.value = (
                    f'<span class="streamlab-error" style="color:#b00020">{html.escape(message)}'
                    "</span>"
                )
            return False
        if self.error is not None:
            self.error = None
        shown = rows if self.limit is None else rows[: self.limit]
        players = len(rows)
        games = sum(row["GamesPlayed"] for row in rows)
        status = f"{players} player(s), {games} game(s)"
        if status != self.status.value:
            self.status.value = status
        if shown == self.rows:
            return False
        self.rows = shown
        self.table.value = render_html(shown, title=self.title)
        return True

    def snapshot(self) -> Snapshot:
        """The current state as static text and HTML (what a headless run shows)."""
        if self.error is not None:
            return Snapshot(self.error, f"<span>{html.escape(self.error)}</span>")
        rows = self.rows or []
        return Snapshot(render_text(rows, title=self.title), render_html(rows, title=self.title))

    def _first_look(self) -> None:
        self.refresh()


def show_leaderboard(lab: Lab, **options: Any) -> Leaderboard:
    """Create, display and start a leaderboard; keep the result to ``stop()`` it later."""
    return Leaderboard(lab, **options).show()
