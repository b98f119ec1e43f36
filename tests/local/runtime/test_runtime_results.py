"""Lambda's own error documents for invocations that did not end normally."""

from __future__ import annotations

import json

from streamlab.local.runtime.environment import Outcome
from streamlab.local.runtime.results import exit_description, outcome_payload


def test_exit_descriptions_read_as_lambdas() -> None:
    assert exit_description(1) == "exit status 1"
    assert exit_description(-9) == "signal: killed"
    assert exit_description(-11) == "signal: segmentation fault"


def test_timeout_payload() -> None:
    payload, error = outcome_payload(Outcome("rid", "timeout"), timeout=3, returncode=-9)
    assert error == "Unhandled"
    assert json.loads(payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: rid Error: Task timed out after 3.00 seconds",
    }


def test_success_passes_the_payload_through() -> None:
    assert outcome_payload(Outcome("rid", "success", payload=b"42"), 3, None) == (b"42", None)
