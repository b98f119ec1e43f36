"""streamlab.widgets.pipeline: rendering, back-off, one-line errors, the widget rules."""

from __future__ import annotations

import threading
from typing import Any

import botocore.exceptions
import pytest

from streamlab.aws.pipeline import PipelineCounts, StepReport
from streamlab.widgets import background
from streamlab.widgets.leaderboard import Snapshot
from streamlab.widgets.pipeline import MAX_INTERVAL, PipelineView, render_html, render_text


class StubLab:
    def __init__(self, backend: str = "local") -> None:
        self.backend = backend


class StubCounter:
    """Counts that grow by one written game per step, or a scripted failure."""

    def __init__(self, failures: list[BaseException | None] | None = None) -> None:
        self.counts = PipelineCounts(0, 0, 0, 0, 0, None)
        self.failures = list(failures or [])
        self.steps = 0

    def step(self) -> StepReport:
        self.steps += 1
        failure = self.failures.pop(0) if self.failures else None
        if failure is None:
            assert self.counts.written is not None
            self.counts.written += 1
            return StepReport()
        code = getattr(failure, "response", {}).get("Error", {}).get("Code")
        return StepReport(errors={"table": failure}, throttled=code == "ThrottlingException")


def _client_error(code: str, message: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, "Scan")


def _view(counter: StubCounter, backend: str = "local", **options: Any) -> PipelineView:
    return PipelineView(
        StubLab(backend),  # type: ignore[arg-type]
        table="T",
        function="f",
        counter=counter,  # type: ignore[arg-type]
        **options,
    )


def test_every_stage_renders_with_its_count_and_a_missing_queue_is_left_out() -> None:
    counts = PipelineCounts(written=5, in_stream=6, delivered=4, counted=3, retried=2, failed=None)
    page = render_html(counts)
    for stage, value in counts.as_dict().items():
        if value is not None:
            assert f'data-stage="{stage}" data-count="{value}"' in page
    assert 'data-stage="failed"' not in page
    assert render_text(counts) == (
        "Pipeline: written 5 → in the stream 6 → delivered 4 → counted 3\n  retried 2"
    )
    with_queue = PipelineCounts(1, 1, 1, 1, 0, 1)
    assert 'data-stage="failed" data-count="1"' in render_html(with_queue)


def test_refresh_moves_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_TEST_MODE", raising=False)
    view = _view(StubCounter())
    view.refresh()
    assert 'data-stage="written" data-count="1"' in view.board.value
    view.refresh()
    assert 'data-stage="written" data-count="2"' in view.board.value
    assert view.error is None and "looked at" in view.status.value


def test_throttling_doubles_the_wait_up_to_a_cap_then_returns_to_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAB_TEST_MODE", raising=False)
    throttled = _client_error("ThrottlingException", "Rate exceeded")
    view = _view(StubCounter([throttled] * 6), backend="aws")
    assert view.base_interval == 10.0
    waits = []
    for _ in range(6):
        view.refresh()
        waits.append(view.loop.interval)
    assert waits == [20.0, 40.0, 80.0, MAX_INTERVAL, MAX_INTERVAL, MAX_INTERVAL]
    assert "throttling" in view.status.value and "120 s" in view.status.value
    view.refresh()  # a look that works: back to the ordinary pace
    assert view.loop.interval == 10.0 and view.error is None


def test_an_error_is_one_line_naming_its_source_and_the_counts_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAB_TEST_MODE", raising=False)
    error = _client_error("ResourceNotFoundException", "Requested resource not found\nat line 2")
    view = _view(StubCounter([None, error]))
    view.refresh()
    view.refresh()
    assert view.error == "table: ResourceNotFoundException: Requested resource not found"
    assert "Traceback" not in view.status.value and "\n" not in view.status.value
    assert 'data-count="1"' in view.board.value  # the last good count is kept
    assert view.loop.interval == view.base_interval  # not throttling: no back-off


def test_live_it_is_displayed_first_then_refreshed_in_the_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAB_TEST_MODE", raising=False)
    counter = StubCounter()
    shown: list[tuple[Any, int]] = []
    monkeypatch.setattr(background, "display", lambda obj: shown.append((obj, counter.steps)))
    view = _view(counter, interval=0.01)
    view.show()
    try:
        assert shown[0] == (view.widget, 0)  # displayed before the first look
        pause = threading.Event()
        for _ in range(200):
            if counter.steps >= 3:
                break
            pause.wait(0.01)
        assert counter.steps >= 3 and view.running
    finally:
        view.stop()
    assert not view.running


def test_test_mode_shows_a_snapshot_after_a_bounded_joined_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAB_TEST_MODE", "1")
    counter = StubCounter()
    shown: list[Any] = []
    monkeypatch.setattr(background, "display", shown.append)
    view = _view(counter, test_steps=3)
    view.show()
    assert counter.steps == 3 and not view.running
    assert isinstance(shown[0], Snapshot)
    assert shown[0].text.startswith("Pipeline: written 3 → in the stream 0")
    assert not [t for t in threading.enumerate() if t.name == "streamlab-pipeline"]
