"""Checks for functions and logs: PASS from the backend, one-line failures, stubs say 'not done'."""

from __future__ import annotations

import time

import pytest

from streamlab.aws import logs
from streamlab.aws.session import Lab
from streamlab.checks import lab03 as checks
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone


def _put(lab: Lab, function_name: str, messages: list[str]) -> None:
    group = logs.log_group_name(function_name)
    try:
        lab.logs.create_log_group(logGroupName=group)
        lab.logs.create_log_stream(logGroupName=group, logStreamName="s")
    except lab.logs.exceptions.ResourceAlreadyExistsException:
        pass
    lab.logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
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


def test_found_log_lines_pass_and_are_shown(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
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
        checks.finds_log_lines(
            lab, "chk-find-all", everything, exercise="9.3", expected="Hello World"
        )
    with pytest.raises(CheckFailed, match="should return a list of log events"):
        checks.finds_log_lines(
            lab, "chk-find-all", lambda n: "text", exercise="9.3", expected="Hello World"
        )
    with pytest.raises(CheckFailed, match="no events found"):
        checks.finds_log_lines(
            lab, "chk-find-none", lambda n: [], exercise="9.3", expected="Hello World", timeout=0
        )


SEED = """import json


def lambda_handler(event, context):
    for record in event["Records"]:
        print(record["eventName"])
        print("DynamoDB Record: " + json.dumps(record["dynamodb"]))
        print(f'Message: "{record["dynamodb"]["NewImage"]["Message"]["S"]}"')
    return len(event["Records"])
"""


def _event(message: str) -> dict:
    image = {"Message": {"S": message}, "Id": {"N": "101"}}
    return {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": image}}]}


def test_the_seed_handler_passes_the_checks_on_real_invocations(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    import base64
    import json

    from streamlab.aws import functions

    functions.deploy_function(lab, "chk-seed", SEED)
    checks.handler_prints(
        lab,
        "chk-seed",
        _event("checking"),
        exercise="9.1",
        expected=["INSERT", "DynamoDB Record: ", 'Message: "checking"'],
    )

    def invoke_with_tail(function_name: str, event: dict) -> str:
        response = lab.lambda_.invoke(
            FunctionName=function_name, Payload=json.dumps(event), LogType="Tail"
        )
        return base64.b64decode(response["LogResult"]).decode()

    checks.tail_of_invocation(
        lab,
        "chk-seed",
        invoke_with_tail,
        _event("Hello World"),
        exercise="9.2",
        expected='Message: "Hello World"',
    )

    def error_type_of(function_name: str, event: dict) -> str | None:
        response = lab.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read())
        return payload["errorType"] if "FunctionError" in response else None

    checks.reports_error(
        lab,
        "chk-seed",
        error_type_of,
        exercise="9.4",
        failing_event={},
        good_event=_event("fine"),
        expected_type="KeyError",
    )
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines()] == ["PASS 9.1", "PASS 9.2", "PASS 9.4"]


def test_a_handler_that_prints_the_wrong_thing_fails_with_the_missing_line(lab: Lab) -> None:
    from streamlab.aws import functions

    functions.deploy_function(
        lab,
        "chk-hardcoded",
        "def lambda_handler(event, context):\n"
        '    print("INSERT")\n'
        "    print('Message: \"Hello World\"')\n",
    )
    with pytest.raises(CheckFailed, match="lacks 'DynamoDB Record: '"):
        checks.handler_prints(
            lab,
            "chk-hardcoded",
            _event("checking"),
            exercise="9.1",
            expected=["INSERT", "DynamoDB Record: ", 'Message: "checking"'],
        )


def test_a_handler_that_raises_fails_the_check_with_lambdas_error(lab: Lab) -> None:
    from streamlab.aws import functions

    functions.deploy_function(lab, "chk-raises", "def lambda_handler(e, c):\n    return 1 / 0\n")
    with pytest.raises(CheckFailed, match="failed: ZeroDivisionError: division by zero"):
        checks.handler_prints(lab, "chk-raises", {}, exercise="9.1", expected=["x"])


def test_reading_the_error_wrongly_is_explained(lab: Lab) -> None:
    from streamlab.aws import functions

    functions.deploy_function(lab, "chk-err", "def lambda_handler(e, c):\n    return e['x']\n")
    with pytest.raises(CheckFailed, match="returned None, Lambda reports 'KeyError'"):
        checks.reports_error(
            lab,
            "chk-err",
            lambda n, e: None,
            exercise="9.4",
            failing_event={},
            good_event={"x": 1},
            expected_type="KeyError",
        )
