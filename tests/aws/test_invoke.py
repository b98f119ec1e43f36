"""Invoke helpers: AWS's response shape, with payload parsed and log tail decoded."""

from __future__ import annotations

import base64

import pytest

from streamlab.aws import functions, invoke, logs
from streamlab.aws.session import Lab

ECHO = 'def lambda_handler(event, context):\n    print("got", event)\n    return event\n'
FAILS = 'def lambda_handler(event, context):\n    return event["name"]\n'


def test_log_result_is_decoded_from_base64() -> None:
    tail = "START RequestId: r Version: $LATEST\nhello\n"
    encoded = base64.b64encode(tail.encode()).decode()
    assert invoke.decode_log_result(encoded) == tail
    assert invoke.decode_log_result(None) == ""


def test_payload_is_parsed_when_it_is_json() -> None:
    assert invoke.decode_payload(b'{"ok": true}') == {"ok": True}
    assert invoke.decode_payload(b"null") is None
    assert invoke.decode_payload(b"not json") == "not json"
    assert invoke.decode_payload(b"") is None


def test_sync_invoke_returns_the_answer_and_prints_the_log_tail(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    functions.deploy_function(lab, "invoke-sync", ECHO)
    response = invoke.invoke(lab, "invoke-sync", {"a": 1})
    request_id = invoke.request_id(response)
    assert response["StatusCode"] == 200
    assert response["Payload"] == {"a": 1}
    assert "FunctionError" not in response
    printed = capsys.readouterr().out
    assert f"START RequestId: {request_id} Version: $LATEST" in printed
    assert "got {'a': 1}" in printed
    assert printed.rstrip("\n") == response["LogResult"].rstrip("\n")


def test_async_invoke_is_accepted_then_its_log_is_shown(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    functions.deploy_function(lab, "invoke-async", ECHO)
    queued = invoke.invoke_async(lab, "invoke-async", {"b": 2})
    assert queued["StatusCode"] == 202
    assert "Payload" not in queued
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"START RequestId: {invoke.request_id(queued)} Version: $LATEST"
    assert "got {'b': 2}" in printed
    assert printed[-1].startswith(f"REPORT RequestId: {invoke.request_id(queued)}")


def test_an_unhandled_error_is_reported_in_the_payload_and_the_log(lab: Lab) -> None:
    functions.deploy_function(lab, "invoke-fails", FAILS)
    response = invoke.invoke(lab, "invoke-fails", {}, show_log=False)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"]["errorType"] == "KeyError"
    events = logs.request_logs(lab, lab.name("invoke-fails"), invoke.request_id(response))
    assert any(e["message"].startswith("[ERROR] KeyError: 'name'") for e in events)


def test_a_timeout_is_reported_and_its_last_log_line_found(lab: Lab) -> None:
    code = "import time\ndef lambda_handler(event, context):\n    time.sleep(3)\n"
    functions.deploy_function(lab, "invoke-slow", code, timeout=1)
    response = invoke.invoke(lab, "invoke-slow", show_log=False)
    assert response["Payload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in response["Payload"]["errorMessage"]
    events = logs.request_logs(lab, lab.name("invoke-slow"), invoke.request_id(response))
    assert "Task timed out after 1.00 seconds" in events[-1]["message"]


def test_module_state_persists_while_warm_and_a_new_deploy_starts_cold(lab: Lab) -> None:
    code = (
        'print("importing")\nN = 0\n'
        "def lambda_handler(e, c):\n    global N\n    N += 1\n    return N\n"
    )
    functions.deploy_function(lab, "invoke-warm", code)
    runs = [invoke.invoke(lab, "invoke-warm", show_log=False) for _ in range(3)]
    assert [r["Payload"] for r in runs] == [1, 2, 3]
    assert ["Init Duration" in r["LogResult"] for r in runs] == [True, False, False]
    cold = logs.request_logs(lab, lab.name("invoke-warm"), invoke.request_id(runs[0]))
    # Lambda logs it before START; the runtime may still be reading it when START is cut
    # (a race it owns), so only its presence in this request's log is asserted here.
    assert "importing\n" in [e["message"] for e in cold], "module output is in the cold start"
    functions.deploy_function(lab, "invoke-warm", code, memory=256)
    again = invoke.invoke(lab, "invoke-warm", show_log=False)
    assert again["Payload"] == 1 and "Init Duration" in again["LogResult"]


def test_the_deployed_function_runs_exactly_the_cell_text(lab: Lab) -> None:
    code = "import os\ndef lambda_handler(e, c):\n    return open(__file__).read()\n"
    functions.deploy_function(lab, "invoke-self", code)
    assert invoke.invoke(lab, "invoke-self", show_log=False)["Payload"] == code


def test_tables_reach_the_code_by_environment_variable(lab: Lab) -> None:
    code = 'import os\ndef lambda_handler(e, c):\n    return os.environ["GAME_SCORES_TABLE"]\n'
    functions.deploy_function(lab, "invoke-env", code, tables=["GameScores"])
    assert invoke.invoke(lab, "invoke-env", show_log=False)["Payload"] == lab.name("GameScores")
