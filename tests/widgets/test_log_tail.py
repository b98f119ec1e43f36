"""The log-tail widget: bounded and joined in test mode, silent threads, stops when asked."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from streamlab.aws import logs
from streamlab.aws.session import Lab
from streamlab.widgets import log_tail


def _put(lab: Lab, function_name: str, messages: list[str]) -> None:
    group = logs.log_group_name(function_name)
    try:
        lab.logs.create_log_group(logGroupName=group)
        lab.logs.create_log_stream(logGroupName=group, logStreamName="s")
    except lab.logs.exceptions.ResourceAlreadyExistsException:
        pass
    now = int(time.time() * 1000)
    lab.logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now, "message": m + "\n"} for m in messages],
    )


def test_test_mode_runs_bounded_steps_joined_and_shows_a_snapshot(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAB_TEST_MODE", "1")
    name = f"tail-{uuid.uuid4().hex[:8]}"
    _put(lab, lab.name(name), ["START RequestId: r1 Version: $LATEST", 'Message: "Hello World"'])
    tail = log_tail.show_log_tail(lab, name, since=0, interval=0.01)
    assert not tail.running, "test mode joins the loop before the cell ends"
    bundle = tail._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}, "a static snapshot, no live widget"
    assert 'Message: "Hello World"' in bundle["text/plain"]
    assert bundle["text/plain"].splitlines()[0] == f"/aws/lambda/{lab.name(name)}"
    assert capsys.readouterr() == ("", ""), "the loop never prints"


def test_refresh_adds_only_new_lines(lab: Lab) -> None:
    name = f"tail-{uuid.uuid4().hex[:8]}"
    tail = log_tail.LogTail(lab, name, since=0)
    assert tail.refresh() == 0 and tail.lines == []  # no log group yet is not an error
    _put(lab, lab.name(name), ["one", "two"])
    assert tail.refresh() == 2
    assert tail.refresh() == 0
    _put(lab, lab.name(name), ["three"])
    assert tail.refresh() == 1
    assert tail.lines == ["one", "two", "three"]
    assert "three" in tail._body.value


def test_old_lines_are_dropped_beyond_max_lines(lab: Lab) -> None:
    name = f"tail-{uuid.uuid4().hex[:8]}"
    _put(lab, lab.name(name), [f"line {i}" for i in range(10)])
    tail = log_tail.LogTail(lab, name, since=0, max_lines=3)
    tail.refresh()
    assert tail.lines == ["line 7", "line 8", "line 9"]


def test_the_live_loop_follows_new_events_and_stops(lab: Lab) -> None:
    name = f"tail-{uuid.uuid4().hex[:8]}"
    changed = threading.Event()
    tail = log_tail.LogTail(lab, name, since=0, interval=0.05, headless_mode=False)
    tail._body.observe(lambda change: changed.set(), names="value")
    tail.start()
    try:
        assert tail.running
        _put(lab, lab.name(name), ["arrived later"])
        assert changed.wait(30), "the loop did not pick up the new event"
        assert "arrived later" in tail.lines
    finally:
        tail.stop()
    assert not tail.running
    assert "application/vnd.jupyter.widget-view+json" in tail._repr_mimebundle_()


def test_stop_all_ends_every_running_tail(lab: Lab) -> None:
    tails = [
        log_tail.LogTail(lab, f"tail-{i}", interval=0.05, headless_mode=False).start()
        for i in range(2)
    ]
    assert all(t.running for t in tails)
    log_tail.stop_all()
    assert not any(t.running for t in tails)


def test_failed_looks_back_off_and_recover(lab: Lab) -> None:
    tail = log_tail.LogTail(lab, "tail-backoff", interval=1.0)
    assert tail.next_wait() == 1.0
    tail.error = "ThrottlingException: Rate exceeded"
    assert [tail.next_wait() for _ in range(7)] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    tail.error = None
    assert tail.next_wait() == 1.0


def test_an_error_is_shown_in_the_widget_not_raised(lab: Lab) -> None:
    tail = log_tail.LogTail(lab, "tail-error", pattern="{ $.x = 1 }", since=0)
    _put(lab, lab.name("tail-error"), ["line"])
    assert tail.refresh() == 0
    assert tail.error and "JSON or space-delimited" in tail.error
    assert tail._status.value.startswith("error: ")
