"""The worker's pieces that mirror AWS's runtime client: framing, errors, marshalling."""

from __future__ import annotations

import decimal

import pytest

from streamlab.local.runtime import worker


def test_log_error_frames_one_line_with_carriage_returns_and_no_break_spaces(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = worker.make_error(
        "boom", "ValueError", ['  File "f.py", line 2, in handler\n    raise ValueError("boom")\n']
    )
    worker.log_error(error)
    assert capsys.readouterr().out == (
        "[ERROR] ValueError: boom\rTraceback (most recent call last):\r"
        '\u00a0\u00a0File "f.py", line 2, in handler\r'
        '\u00a0\u00a0\u00a0\u00a0raise ValueError("boom")\n'
    )


def test_make_error_fills_aws_defaults() -> None:
    assert worker.make_error("", "", None) == {
        "errorMessage": "",
        "errorType": "",
        "requestId": "",
        "stackTrace": [],
    }


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("nodot", "Runtime.MalformedHandlerName"),
        ("sys.handler", "Runtime.BuiltInModuleConflict"),
        ("no_such_module_xyz.handler", "Runtime.ImportModuleError"),
        ("json.no_such_function", "Runtime.HandlerNotFound"),
    ],
)
def test_handler_loading_errors(handler: str, error_type: str) -> None:
    with pytest.raises(worker.FaultException) as fault:
        worker.get_handler(handler)
    assert fault.value.exception_type == error_type


def test_marshal_turns_decimals_into_numbers_and_refuses_sets() -> None:
    body, content_type = worker.marshal_response(
        {"n": decimal.Decimal("3"), "r": decimal.Decimal("0.25")}
    )
    assert (body, content_type) == (b'{"n": 3, "r": 0.25}', "application/json")
    assert worker.marshal_response(b"raw") == (b"raw", "application/unknown")
    with pytest.raises(worker.FaultException) as fault:
        worker.marshal_response({1, 2})
    assert (
        fault.value.msg == "Unable to marshal response: Object of type set is not JSON serializable"
    )


def test_context_remaining_time_counts_down_to_zero() -> None:
    context = worker.LambdaContext("rid", None, None, epoch_deadline_time_in_ms=0)
    assert context.get_remaining_time_in_millis() == 0
    assert context.aws_request_id == "rid"
    assert context.client_context is None
