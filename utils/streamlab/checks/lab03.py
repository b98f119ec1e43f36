"""Exercise checks for functions and their logs (lab 03 on).

Like every lab's checks (see ``streamlab.checks.exercise``), each check reads the real
backend (the function's
configuration, a fresh invocation, the events in CloudWatch Logs) and prints
one PASS line, or raises a one-line ``CheckFailed`` with a hint, or "not done
yet" when the exercise's stub is what ran. Notebooks import it as
``from streamlab.checks import lab03 as checks``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from streamlab.aws import logs
from streamlab.aws.session import Lab
from streamlab.aws.waiting import Wait
from streamlab.checks.deadline import LEARNER_CODE_SECONDS
from streamlab.checks.exercise import call_learner, fail, passed
from streamlab.checks.probes import deployed_configuration, invoke_with_tail
from streamlab.errors import LabError


def handler_prints(
    lab: Lab,
    name: str,
    event: Any,
    *,
    exercise: str,
    expected: Sequence[str],
    hint: str = "",
) -> None:
    """Invoking the deployed function with ``event`` logs each of ``expected``, in order."""
    hint = hint or (
        "print, for each record, lines holding "
        + ", ".join(repr(text) for text in expected)
        + ", in that order: Lambda logs what the handler prints."
    )
    function_name = lab.name(name)
    deployed_configuration(lab, name, exercise)
    response, payload, _tail = invoke_with_tail(lab, function_name, event)
    request_id = response["ResponseMetadata"]["RequestId"]
    if response.get("FunctionError"):
        error = payload if isinstance(payload, dict) else {}
        fail(
            exercise,
            f"{function_name} failed: {error.get('errorType')}: {error.get('errorMessage')}",
            hint,
        )
    events = logs.request_logs(lab, function_name, request_id)
    text = logs.format_events(events)
    position = 0
    returned = payload if isinstance(payload, str) else json.dumps(payload)
    for wanted in expected:
        found = text.find(wanted, position)
        if found < 0 and wanted not in text and wanted in returned:
            fail(
                exercise,
                f"{function_name} returned {wanted!r} instead of printing it: its log lacks it.",
                "Lambda logs what a handler prints (print(...)); what it returns goes back to "
                "the caller only.",
            )
        if found < 0:
            fail(
                exercise,
                f"the log of {function_name} lacks {wanted!r}"
                + (" after the lines before it." if wanted in text else "."),
                hint,
            )
        position = found + len(wanted)
    shown = ", ".join(repr(w) for w in expected)
    passed(exercise, f"{function_name} logged {shown}")


def tail_of_invocation(
    lab: Lab,
    name: str,
    invoke_with_tail: Callable[[str, Any], str],
    event: Any,
    *,
    exercise: str,
    expected: str,
    hint: str = "",
) -> None:
    """``invoke_with_tail(function_name, event)`` returns the decoded log tail of a real run."""
    hint = hint or (
        "lab.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event), "
        "LogType='Tail'), then base64.b64decode(response['LogResult']).decode()."
    )
    function_name = lab.name(name)
    tail = call_learner(exercise, invoke_with_tail, function_name, event, hint=hint)
    if not isinstance(tail, str):
        fail(exercise, f"invoke_with_tail returned {type(tail).__name__}, not the log text.", hint)
    if "START RequestId: " not in tail or "REPORT RequestId: " not in tail:
        if "START RequestId: " in _base64_decoded(tail):
            fail(
                exercise,
                "the text returned is the log tail still base64-encoded, as Lambda sends it.",
                "return base64.b64decode(response['LogResult']).decode().",
            )
        fail(exercise, "the text returned is not a log tail (no START and REPORT lines).", hint)
    if expected not in tail:
        fail(exercise, f"the log tail lacks {expected!r}.", hint)
    request_id = logs.request_id_of(tail[tail.index("START RequestId: ") :])
    logs.request_logs(lab, function_name, request_id)  # that run is in CloudWatch Logs too
    passed(exercise, f"the log tail holds {expected!r}, and CloudWatch Logs has that request")


FIND_SECONDS = LEARNER_CODE_SECONDS


def _base64_decoded(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""


def finds_log_lines(
    lab: Lab,
    name: str,
    find: Callable[[str], Sequence[dict[str, Any]]],
    *,
    exercise: str,
    expected: str,
    timeout: float | None = None,
    hint: str = "",
) -> None:
    """``find(function_name)`` returns CloudWatch events, all holding ``expected``, one at least.

    The learner's function is called again until it finds something or the
    logs' delivery timeout passes, since on AWS the lines arrive late. After
    the PASS line the messages found are shown: they are the lesson.
    """
    function_name = lab.name(name)
    hint = hint or (
        f"the function's log group is {logs.log_group_name(function_name)!r}, and an exact "
        f"phrase is a filter pattern in double quotes, '\"{expected}\"'."
    )
    wait = Wait(
        f"log events in {logs.log_group_name(function_name)}",
        logs.default_timeout(lab) if timeout is None else timeout,
        "",
        interval=0.1 if lab.backend == "local" else 2.0,
        max_interval=0.1 if lab.backend == "local" else 8.0,
        backoff=1.5,
    )
    while True:
        events = call_learner(
            exercise, find, function_name, hint=hint, seconds=FIND_SECONDS,
            too_slow="a page loop that never ends: pass nextToken=page['nextToken'] to the "
            "next call, and stop at the first page without a nextToken.",
        )
        if not isinstance(events, (list, tuple)) or not all(
            isinstance(e, dict) and "message" in e for e in events
        ):
            fail(
                exercise,
                "the function should return a list of log events (dicts with "
                "'message'), as filter_log_events gives them in 'events'.",
                hint,
            )
        if events or wait.remaining() <= 0:
            break
        wait.pause("none yet")
    if not events:
        fail(exercise, f"no events found in {logs.log_group_name(function_name)}.", hint)
    stray = [e["message"].strip() for e in events if expected not in e["message"]]
    if stray:
        fail(
            exercise,
            f"{len(stray)} of the {len(events)} events lack {expected!r}, e.g. {stray[0][:60]!r}.",
            hint,
        )
    passed(exercise, f"{len(events)} log events of {function_name} hold {expected!r}:")
    for event in events:
        print("   ", event["message"].rstrip("\n"))


def reports_error(
    lab: Lab,
    name: str,
    error_type_of: Callable[[str, Any], str | None],
    *,
    exercise: str,
    failing_event: Any,
    good_event: Any,
    expected_type: str,
    hint: str = "",
) -> None:
    """``error_type_of(function_name, event)`` reads the ``errorType`` Lambda reports.

    Also proves the failure is in the function's log as one ``[ERROR]`` event.
    """
    hint = hint or (
        "invoke it synchronously; when the response has a 'FunctionError', return "
        "json.loads(response['Payload'].read())['errorType'], otherwise None."
    )
    function_name = lab.name(name)
    got = call_learner(exercise, error_type_of, function_name, failing_event, hint=hint)
    if got != expected_type:
        fail(
            exercise,
            f"for the failing event it returned {got!r}, Lambda reports {expected_type!r}.",
            hint,
        )
    fine = call_learner(exercise, error_type_of, function_name, good_event, hint=hint)
    if fine is not None:
        fail(
            exercise,
            f"for a good event it returned {fine!r}; it should return None when "
            "the function succeeded.",
            hint,
        )
    response, _payload, _tail = invoke_with_tail(lab, function_name, failing_event)
    events = logs.request_logs(lab, function_name, response["ResponseMetadata"]["RequestId"])
    if not any(e["message"].startswith(f"[ERROR] {expected_type}") for e in events):
        raise LabError(
            f"{function_name}'s log has no '[ERROR] {expected_type}' event: the runtime did not "
            "log the error as Lambda does (report this to the kit's maintainers)."
        )
    passed(
        exercise,
        f"Lambda reports {expected_type} as FunctionError Unhandled, logged as "
        f"[ERROR] {expected_type}",
    )
