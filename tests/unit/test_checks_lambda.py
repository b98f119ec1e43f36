"""Checks for functions and logs: PASS from the backend, one-line failures, stubs say 'not done'."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from streamlab import checks_lambda as checks
from streamlab import logs
from streamlab.errors import CheckFailed, ExerciseNotDone
from streamlab.session import Lab


@pytest.fixture(autouse=True)
def no_pending() -> Iterator[None]:
    ExerciseNotDone.pending.clear()
    yield
    ExerciseNotDone.pending.clear()


def _put(lab: Lab, function_name: str, messages: list[str]) -> None:
    group = logs.log_group_name(function_name)
    try:
        lab.logs.create_log_group(logGroupName=group)
        lab.logs.create_log_stream(logGroupName=group, logStreamName="s")
    except lab.logs.exceptions.ResourceAlreadyExistsException:
        pass
    lab.logs.put_log_events(
        logGroupName=group, logStreamName="s",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": m + "\n"} for m in messages],
    )


def test_a_missing_function_is_a_one_line_failure_with_a_hint(lab: Lab) -> None:
    with pytest.raises(CheckFailed, match=r"no function 'chk-missing' yet.*%%lambda_function"):
        checks.handler_prints(lab, "chk-missing", {}, exercise="9.1", expected=["x"])


def test_after_a_stub_ran_a_failing_check_says_not_done_yet(lab: Lab) -> None:
    ExerciseNotDone("9.1", "write the handler")
    with pytest.raises(ExerciseNotDone, match="9.1 is not done yet: write the handler"):
        checks.handler_prints(lab, "chk-missing", {}, exercise="9.1", expected=["x"])


def test_a_learner_function_that_is_still_a_stub_says_not_done_yet(lab: Lab) -> None:
    def invoke_with_tail(function_name: str, event: dict) -> str:
        raise ExerciseNotDone("9.2", "invoke it")

    with pytest.raises(ExerciseNotDone, match="9.2 is not done yet"):
        checks.tail_of_invocation(
            lab, "chk-any", invoke_with_tail, {}, exercise="9.2", expected="x"
        )


def test_a_learner_functions_own_error_is_one_line(lab: Lab) -> None:
    def invoke_with_tail(function_name: str, event: dict) -> str:
        return lab.lambda_.invoke(FunctionName=function_name)

    with pytest.raises(CheckFailed, match="invoke_with_tail raised ResourceNotFoundException"):
        checks.tail_of_invocation(
            lab, "chk-absent", invoke_with_tail, {}, exercise="9.2", expected="x"
        )


def test_a_tail_must_be_log_text(lab: Lab) -> None:
    with pytest.raises(CheckFailed, match="returned dict, not the log text"):
        checks.tail_of_invocation(lab, "f", lambda n, e: {}, {}, exercise="9.2", expected="x")
    with pytest.raises(CheckFailed, match="not a log tail"):
        checks.tail_of_invocation(lab, "f", lambda n, e: "hi", {}, exercise="9.2", expected="x")


def test_found_log_lines_pass_and_are_shown(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    name = lab.name("chk-find")
    _put(lab, name, ['Message: "Hello World"', "unrelated"])

    def find(function_name: str) -> list:
        return lab.logs.filter_log_events(
            logGroupName=f"/aws/lambda/{function_name}", filterPattern='"Hello World"'
        )["events"]

    checks.finds_log_lines(lab, "chk-find", find, exercise="9.3", expected="Hello World")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS 9.3: 1 log events of chk-find hold 'Hello World'")
    assert out[1:] == ['    Message: "Hello World"']


def test_found_log_lines_must_all_match_and_be_events(lab: Lab) -> None:
    name = lab.name("chk-find-all")
    _put(lab, name, ["Hello World", "something else"])

    def everything(function_name: str) -> list:
        return lab.logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")["events"]

    with pytest.raises(CheckFailed, match="1 of the 2 events lack 'Hello World'"):
        checks.finds_log_lines(lab, "chk-find-all", everything, exercise="9.3",
                               expected="Hello World")
    with pytest.raises(CheckFailed, match="should return a list of log events"):
        checks.finds_log_lines(lab, "chk-find-all", lambda n: "text", exercise="9.3",
                               expected="Hello World")
    with pytest.raises(CheckFailed, match="no events found"):
        checks.finds_log_lines(lab, "chk-find-none", lambda n: [], exercise="9.3",
                               expected="Hello World", timeout=0)
