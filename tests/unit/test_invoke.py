"""Invoke helpers: AWS's response shape, with payload parsed and log tail decoded."""

from __future__ import annotations

import base64

from streamlab import functions, invoke
from streamlab.session import Lab


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


def test_responses_keep_the_aws_shape_and_the_request_id(lab: Lab) -> None:
    functions.deploy_function(lab, "invoke-shape", "def lambda_handler(e, c):\n    return e\n")
    sync = invoke.invoke(lab, "invoke-shape", {"a": 1}, show_log=False)
    assert sync["StatusCode"] == 200
    assert isinstance(sync["LogResult"], str)
    assert invoke.request_id(sync)
    queued = invoke.invoke_async(lab, "invoke-shape", {"a": 1}, show_log=False)
    assert queued["StatusCode"] == 202
    assert "Payload" not in queued
    assert invoke.request_id(queued) != invoke.request_id(sync)
