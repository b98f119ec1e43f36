"""Reading a function's logs: one request, the latest one, a pattern; waits that give up clearly.

Until an invocation writes them, the events are put the way Lambda writes them:
one stream per execution environment, START / output / END / REPORT.
"""

from __future__ import annotations

import time
import uuid

import pytest

from streamlab.aws import logs
from streamlab.aws.session import Lab


def _put(lab: Lab, function_name: str, stream: str, messages: list[str]) -> None:
    """Append events to one stream of the function's group, creating both if needed."""
    group = logs.log_group_name(function_name)
    for create, kwargs in (
        (lab.logs.create_log_group, {"logGroupName": group}),
        (lab.logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
    ):
        try:
            create(**kwargs)
        except lab.logs.exceptions.ResourceAlreadyExistsException:
            pass
    now = int(time.time() * 1000)
    lab.logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": m} for m in messages],
    )


def _start(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST\n"


def _end(request_id: str) -> list[str]:
    return [
        f"END RequestId: {request_id}\n",
        f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
    ]


def _put_invocation(lab: Lab, function_name: str, stream: str, lines: list[str]) -> str:
    """One invocation's lines, as the runtime writes them: START, output, END, REPORT."""
    request_id = str(uuid.uuid4())
    body = [line + "\n" for line in lines]
    _put(lab, function_name, stream, [_start(request_id), *body, *_end(request_id)])
    return request_id


def _no_sleep(seconds: float) -> None:
    raise AssertionError("the events were there: no wait expected")


def test_request_logs_are_start_to_report_of_that_request(lab: Lab) -> None:
    name = lab.name("logs-request")
    first = _put_invocation(lab, name, "2026/11/27/[$LATEST]aaaa", ["INSERT", "first"])
    _put_invocation(lab, name, "2026/11/27/[$LATEST]bbbb", ["other environment"])
    _put_invocation(lab, name, "2026/11/27/[$LATEST]aaaa", ["second"])
    events = logs.request_logs(lab, name, first, sleep=_no_sleep)
    text = logs.format_events(events).splitlines()
    assert text[0] == f"START RequestId: {first} Version: $LATEST"
    assert text[1:3] == ["INSERT", "first"]
    assert text[3] == f"END RequestId: {first}"
    assert text[4].startswith(f"REPORT RequestId: {first}\tDuration:")
    assert len(text) == 5


def test_latest_invocation_is_the_last_start_line(lab: Lab) -> None:
    name = lab.name("logs-latest")
    _put_invocation(lab, name, "s1", ["old"])
    latest = _put_invocation(lab, name, "s2", ['Message: "Hello World"'])
    events = logs.latest_invocation_logs(lab, name, sleep=_no_sleep)
    assert logs.request_id_of(events[0]["message"]) == latest
    assert 'Message: "Hello World"' in logs.format_events(events)


def test_find_logs_matches_a_quoted_phrase(lab: Lab) -> None:
    name = lab.name("logs-find")
    _put_invocation(lab, name, "s", ['Message: "Hello World"', "Hello there", "World"])
    events = logs.find_logs(lab, name, '"Hello World"', sleep=_no_sleep)
    assert [e["message"] for e in events] == ['Message: "Hello World"\n']


def test_term_patterns_are_evaluated_like_cloudwatch() -> None:
    assert logs.matches_pattern("ERROR", "[ERROR] boom")
    assert not logs.matches_pattern("ERROR timeout", "[ERROR] boom")
    assert logs.matches_pattern("?ERROR ?WARN", "[WARN] careful")
    assert not logs.matches_pattern("?ERROR ?WARN", "[INFO] fine")
    assert not logs.matches_pattern("ERROR -boom", "[ERROR] boom")
    assert logs.matches_pattern('"Task timed out"', "Task timed out after 3.00 seconds")
    with pytest.raises(logs.LabError, match="JSON or space-delimited"):
        logs.matches_pattern("{ $.level = 1 }", "x")


def test_a_missing_log_group_waits_then_gives_up_with_advice(lab: Lab) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def advance(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with pytest.raises(logs.LogsNotFound, match=r"No invocation has logged .* after 1 s: check"):
        logs.latest_invocation_logs(
            lab, lab.name("logs-never"), timeout=1.0, sleep=advance, clock=lambda: now[0]
        )
    assert sleeps and sum(sleeps) == pytest.approx(1.0)


def test_request_logs_wait_for_the_report_line(lab: Lab) -> None:
    """A START without REPORT (still running, or not yet delivered) is waited for."""
    name = lab.name("logs-partial")
    request_id = str(uuid.uuid4())
    _put(lab, name, "s", [_start(request_id)])
    delivered = []

    def deliver_rest(seconds: float) -> None:
        if not delivered:
            delivered.append(True)
            _put(lab, name, "s", ["late line\n", *_end(request_id)])

    events = logs.request_logs(lab, name, request_id, sleep=deliver_rest)
    assert delivered
    assert "late line" in logs.format_events(events)
    assert events[-1]["message"].startswith(f"REPORT RequestId: {request_id}")


def test_find_logs_reports_how_many_it_found(lab: Lab) -> None:
    name = lab.name("logs-count")
    _put_invocation(lab, name, "s", ["one match"])
    with pytest.raises(logs.LogsNotFound, match="Found 1 of 2 log events matching 'match'"):
        logs.find_logs(lab, name, "match", min_count=2, timeout=0)


def test_a_cold_starts_module_output_and_a_timeouts_last_line_belong_to_the_request(
    lab: Lab,
) -> None:
    name = lab.name("logs-cold")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    timed_out = f"2026-11-27T10:00:03.000Z {second} Task timed out after 3.00 seconds\n\n"
    _put(
        lab,
        name,
        "env",
        [
            "loading module\n",
            _start(first),
            "one\n",
            *_end(first),
            _start(second),
            "two\n",
            *_end(second),
            timed_out,
        ],
    )
    cold = logs.format_events(logs.request_logs(lab, name, first, sleep=_no_sleep))
    assert cold.splitlines()[:3] == ["loading module", _start(first).strip(), "one"]
    assert "two" not in cold
    warm = logs.request_logs(lab, name, second, sleep=_no_sleep)
    assert warm[0]["message"] == _start(second)
    assert warm[-1]["message"] == timed_out
    assert "loading module" not in logs.format_events(warm)


def test_a_real_invocations_lines_are_found_every_way(lab: Lab) -> None:
    from streamlab.aws import functions, invoke

    code = 'def lambda_handler(event, context):\n    print(f\'Message: "{event["m"]}"\')\n'
    functions.deploy_function(lab, "logs-real", code)
    response = invoke.invoke(lab, "logs-real", {"m": "Hello World"}, show_log=False)
    request_id = invoke.request_id(response)
    name = lab.name("logs-real")
    by_id = logs.format_events(logs.request_logs(lab, name, request_id, sleep=_no_sleep))
    latest = logs.format_events(logs.latest_invocation_logs(lab, name, sleep=_no_sleep))
    assert by_id == latest
    assert by_id.splitlines()[1] == 'Message: "Hello World"'
    found = logs.find_logs(lab, name, '"Hello World"', sleep=_no_sleep)
    assert [e["message"] for e in found] == ['Message: "Hello World"\n']
