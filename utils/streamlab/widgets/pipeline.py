"""A live pipeline view: games written, in the stream, delivered, counted, retried, failed.

Labs 04 and 05 are about what happens between a write and a total, where nothing
of the learner's runs in between. This view puts a number on each stage, and the
numbers move while games are played: ``written`` (games in the table), ``in the
stream`` (records on its stream, every shard), ``delivered`` (records handed to
the function, from its log), ``counted`` (games in the totals table), and the
detours ``retried`` (failed invocations the mapping tries again) and ``failed``
(batches given up on, in the on-failure queue). ``streamlab.aws.pipeline`` says
exactly where each count comes from.

It follows the widget rules (ARCHITECTURE.md): displayed first, then changed by a
background refresh that only assigns widget values and never prints; headless
(test mode) a bounded number of looks, joined in the cell, shown as a static
snapshot; stopped when the kernel exits. On AWS it looks every 10 s (the calls
share account-wide quotas with the whole room) and, when throttled, waits twice
as long each time, up to two minutes.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets

from streamlab.aws.pipeline import STAGES, PipelineCounter, PipelineCounts, StepReport
from streamlab.aws.session import Lab

from .background import LiveWidget, error_line, refresh_loop, test_mode
from .leaderboard import Snapshot

VIEW_CLASS = "streamlab-pipeline"
STAGE_CLASS = "streamlab-pipeline-stage"
STATUS_CLASS = "streamlab-pipeline-status"
INTERVALS = {"local": 1.0, "aws": 10.0}
MAX_INTERVAL = 120.0
LABELS = {
    "written": "written",
    "in_stream": "in the stream",
    "delivered": "delivered",
    "counted": "counted",
    "retried": "retried",
    "failed": "failed",
}
HINTS = {
    "written": "games now in the table (Scan, Select=COUNT)",
    "in_stream": "records on the table's stream, every shard (GetRecords)",
    "delivered": "records in batches the function finished (its log: 'N record(s)')",
    "counted": "games in the totals table (sum of GamesPlayed)",
    "retried": "failed invocations, invoked again by the mapping (its log: [ERROR], timed out)",
    "failed": "batches given up on, waiting in the on-failure queue (SQS)",
}
MAIN_STAGES = ("written", "in_stream", "delivered", "counted")
DETOURS = ("retried", "failed")


def _number(value: int | None) -> str:
    return "–" if value is None else str(value)


def _box(stage: str, value: int | None, colour: str) -> str:
    return (
        f'<div class="{STAGE_CLASS}" data-stage="{stage}" data-count="{_number(value)}" '
        f'title="{html.escape(HINTS[stage])}" style="border:1px solid {colour};border-radius:6px;'
        'padding:4px 10px;min-width:6.5em;text-align:center">'
        f'<div style="font-size:1.4em;font-weight:bold;font-variant-numeric:tabular-nums">'
        f"{_number(value)}</div>"
        f'<div style="font-size:0.85em;color:#555">{LABELS[stage]}</div></div>'
    )


def render_html(counts: PipelineCounts, *, title: str = "Pipeline") -> str:
    """The stages as boxes joined by arrows, the detours in a second row."""
    values = counts.as_dict()
    arrow = '<div style="align-self:center;color:#888;font-size:1.3em">→</div>'
    main = arrow.join(_box(stage, values[stage], "#4c9be8") for stage in MAIN_STAGES)
    detours = "".join(
        _box(stage, values[stage], "#d9822b") for stage in DETOURS if values[stage] is not None
    )
    row = "display:flex;gap:6px;align-items:stretch;margin:4px 0"
    return (
        f'<div class="{VIEW_CLASS}"><b>{html.escape(title)}</b>'
        f'<div style="{row}">{main}</div>'
        f'<div style="{row}">{detours}</div></div>'
    )


def render_text(counts: PipelineCounts, *, title: str = "Pipeline") -> str:
    """One line per row, as a headless run (nbval) shows it."""
    values = counts.as_dict()
    main = " → ".join(f"{LABELS[stage]} {_number(values[stage])}" for stage in MAIN_STAGES)
    detours = ", ".join(
        f"{LABELS[stage]} {_number(values[stage])}"
        for stage in DETOURS
        if values[stage] is not None
    )
    return f"{title}: {main}\n  {detours}"


class PipelineView(LiveWidget):
    """Counts each stage of a stream pipeline and shows them, refreshed in the background.

    Give base names, as the lab's cells do: ``PipelineView(lab, table="GameScoreRecords",
    function="game-aggregator", totals="GameScoresByUser")``, plus ``queue=`` for an
    on-failure queue. As the last line of a cell it shows itself and starts
    looking; ``stop()`` ends it (so does the kernel's end).
    """

    def __init__(
        self,
        lab: Lab,
        *,
        table: str,
        function: str,
        totals: str | None = None,
        queue: str | None = None,
        since: int | None = None,
        interval: float | None = None,
        test_steps: int = 2,
        title: str = "Pipeline",
        counter: PipelineCounter | None = None,
    ) -> None:
        self.lab = lab
        self.title = title
        self.counter = counter or PipelineCounter(
            lab, table=table, function=function, totals=totals, queue=queue, since=since
        )
        self.base_interval = INTERVALS.get(lab.backend, 10.0) if interval is None else interval
        self.error: str | None = None
        self.throttled_steps = 0
        self.looks = 0
        self.board = widgets.HTML(value=render_html(self.counter.counts, title=title))
        self.status = widgets.HTML(value="<i>starting…</i>")
        self.status.add_class(STATUS_CLASS)
        self.widget = widgets.VBox([self.board, self.status])
        self.widget.add_class("streamlab-pipeline-widget")
        self.loop = refresh_loop(
            self.refresh,
            interval=self.base_interval,
            test_steps=test_steps,
            name="streamlab-pipeline",
        )

    @property
    def counts(self) -> PipelineCounts:
        return self.counter.counts

    # -- data ------------------------------------------------------------------------
    def refresh(self) -> StepReport:
        """Look once; change the widget only where something changed; set the next wait."""
        report = self.counter.step()
        self.looks += 1
        self.throttled_steps = self.throttled_steps + 1 if report.throttled else 0
        if not test_mode():
            self.loop.interval = self.next_interval()
        board = render_html(self.counts, title=self.title)
        if board != self.board.value:
            self.board.value = board
        self.error = self._error_text(report)
        status = self._status_html()
        if status != self.status.value:
            self.status.value = status
        return report

    def next_interval(self) -> float:
        """The pause before the next look: doubled per throttled look in a row, capped."""
        if not self.throttled_steps:
            return self.base_interval
        return min(self.base_interval * 2**self.throttled_steps, MAX_INTERVAL)

    def _error_text(self, report: StepReport) -> str | None:
        if report.throttled:
            return (
                f"AWS is throttling these reads (shared by the whole account): looking every "
                f"{self.next_interval():.0f} s for now."
            )
        if not report.errors:
            return None
        source, exc = next(iter(report.errors.items()))
        return f"{source}: {error_line(exc)}"

    def _status_html(self) -> str:
        if self.error:
            return (
                f'<span class="streamlab-error" style="color:#b00020">{html.escape(self.error)}'
                "</span>"
            )
        return (
            f'<span style="color:#666">looked at {time.strftime("%H:%M:%S")}, every '
            f"{self.loop.interval:g} s; hover a number for where it comes from</span>"
        )

    def snapshot(self) -> Snapshot:
        """The current counts as static text and HTML (what a headless run shows)."""
        text = render_text(self.counts, title=self.title)
        if self.error:
            text += f"\n{self.error}"
        return Snapshot(text, render_html(self.counts, title=self.title))


def show_pipeline(lab: Lab, **options: Any) -> PipelineView:
    """Create, display and start a pipeline view; keep the result to ``stop()`` it later."""
    return PipelineView(lab, **options).show()


__all__ = ["STAGES", "PipelineView", "render_html", "render_text", "show_pipeline"]
