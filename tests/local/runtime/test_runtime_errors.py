"""Errors and limits shaped exactly as Lambda shapes them (AWS_FIDELITY.md)."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from botocore.exceptions import ClientError
from lambda_helpers import deploy, invoke, lambda_without_retries, wait_for

from streamlab.aws.session import Lab


def test_unhandled_exception_returns_aws_error_payload_with_user_frames_only(lab: Lab) -> None:
    source = (
        "def check(score):\n"
        "    raise ValueError(f'bad score {score}')\n"
        "def handler(event, context):\n"
        "    check(event['score'])\n"
    )
    name = deploy(lab, source)
    response = invoke(lab, name, {"score": -1})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    body = response["body"]
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorMessage"] == "bad score -1"
    assert body["errorType"] == "ValueError"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert len(body["stackTrace"]) == 2  # handler -> check; no runtime frames
    assert all("lambda_function.py" in frame for frame in body["stackTrace"])
    assert "line 4, in handler\n    check(event['score'])\n" in body["stackTrace"][0]


def test_syntax_error(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context)\n    return 1\n")
    body = invoke(lab, name)["body"]
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"].startswith("Syntax error in module 'lambda_function': ")
    assert "(lambda_function.py, line 1)" in body["errorMessage"]
    assert body["stackTrace"][0].endswith(" Line 1\n    def handler(event, context)\n")


def test_import_error_in_the_functions_code(lab: Lab) -> None:
    name = deploy(lab, "import no_such_helper\ndef handler(event, context):\n    return 1\n")
    response = invoke(lab, name)
    assert response["FunctionError"] == "Unhandled"
    assert response["body"]["errorType"] == "Runtime.ImportModuleError"
    assert response["body"]["errorMessage"] == (
        "Unable to import module 'lambda_function': No module named 'no_such_helper'"
    )


def test_missing_handler(lab: Lab) -> None:
    name = deploy(lab, "def other(event, context):\n    return 1\n")
    assert invoke(lab, name)["body"] == {
        "errorMessage": "Handler 'handler' missing on module 'lambda_function'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


def test_malformed_handler_name(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    return 1\n", handler="handler")
    body = invoke(lab, name)["body"]
    assert body["errorType"] == "Runtime.MalformedHandlerName"
    assert body["errorMessage"].startswith("Bad handler 'handler': ")


def test_unserialisable_result_is_a_marshal_error(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    return {'tags': {'a', 'b'}}\n")
    response = invoke(lab, name)
    assert response["FunctionError"] == "Unhandled"
    body = response["body"]
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert body["stackTrace"] == []


SLOW = """
import time
STARTED = time.time()
def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return STARTED
"""


def test_timeout_kills_the_environment_and_reports_sandbox_timedout(lab: Lab) -> None:
    name = deploy(lab, SLOW, Timeout=1)
    first_start = invoke(lab, name)["body"]
    response = invoke(lab, name, {"sleep": 30}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["body"] == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert "\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\t" in response["log"]
    assert f"{request_id} Task timed out after 1.00 seconds" in response["log"]
    # The environment was killed: the next invocation starts cold, module state is new.
    after = invoke(lab, name, LogType="Tail")
    assert "Init Duration:" in after["log"]
    assert after["body"] != first_start


def test_sync_request_payload_over_6_mb_is_refused(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    return 1\n")
    payload = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    with pytest.raises(ClientError) as error:
        lambda_without_retries(lab).invoke(FunctionName=name, Payload=payload)
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_async_request_payload_over_256_kb_is_refused(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    return 1\n")
    payload = b'"' + b"x" * (256 * 1024) + b'"'
    with pytest.raises(ClientError) as error:
        lambda_without_retries(lab).invoke(
            FunctionName=name, InvocationType="Event", Payload=payload
        )
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert "262144 bytes" in error.value.response["Error"]["Message"]


def test_response_over_6_mb_is_a_function_error(lab: Lab) -> None:
    name = deploy(lab, "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n")
    response = invoke(lab, name)
    assert response["FunctionError"] == "Unhandled"
    assert response["body"] == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_exiting_process_is_a_runtime_exit_error(lab: Lab) -> None:
    name = deploy(lab, "import sys\ndef handler(event, context):\n    sys.exit(3)\n")
    response = invoke(lab, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert response["body"] == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
    }


def test_memory_over_memory_size_kills_the_environment(lab: Lab) -> None:
    source = (
        "import time\n"
        "def handler(event, context):\n"
        "    hog = []\n"
        "    for _ in range(400):\n"
        "        hog.append(bytearray(1024 * 1024))\n"
        "        time.sleep(0.002)\n"
        "    return len(hog)\n"
    )
    name = deploy(lab, source, MemorySize=128, Timeout=10)
    response = invoke(lab, name, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["body"] == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    assert "\tStatus: error\tError Type: Runtime.OutOfMemory\t\n" in response["log"]


def test_timeout_also_ends_processes_the_handler_started(lab: Lab, tmp_path: Path) -> None:
    source = (
        "import subprocess, sys, time\n"
        "def handler(event, context):\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "    with open(event['pid_file'], 'w') as f:\n"
        "        f.write(str(child.pid))\n"
        "    time.sleep(30)\n"
    )
    name = deploy(lab, source, Timeout=1)
    pid_file = tmp_path / "child.pid"
    body = invoke(lab, name, {"pid_file": str(pid_file)})["body"]
    assert body["errorType"] == "Sandbox.Timedout"
    child = int(pid_file.read_text())
    wait_for(lambda: not _alive(child), timeout=10)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
