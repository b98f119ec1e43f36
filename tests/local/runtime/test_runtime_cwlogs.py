"""Log lines in Lambda's exact formats (AWS_FIDELITY.md, "Functions, invocations, logs")."""

from __future__ import annotations

import base64

from streamlab.local.runtime.cwlogs import invocation_events, report_line, tail
from streamlab.local.runtime.environment import LogLine, Outcome
from streamlab.local.runtime.functions import FunctionSpec

SPEC = FunctionSpec(
    account_id="123456789012",
    region="us-east-1",
    name="scores",
    version="$LATEST",
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:scores",
    invoked_arn="arn:aws:lambda:us-east-1:123456789012:function:scores",
    handler="lambda_function.handler",
    runtime="python3.12",
    package_type="Zip",
    timeout=3,
    memory_size=128,
    environment={},
    code_sha256="abc",
    code=b"",
)


def _outcome(**kwargs: object) -> Outcome:
    values = {"request_id": "id-1", "status": "success", "duration_ms": 15.74, "max_memory_mb": 56}
    values.update(kwargs)
    return Outcome(**values)  # type: ignore[arg-type]


def test_report_line_warm() -> None:
    assert report_line(SPEC, _outcome()) == (
        "REPORT RequestId: id-1\tDuration: 15.74 ms\tBilled Duration: 16 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 56 MB\t\n"
    )


def test_report_line_cold_has_init_duration() -> None:
    line = report_line(SPEC, _outcome(init_duration_ms=130.49))
    assert line.endswith("\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t\n")


def test_report_line_timeout_bills_the_timeout() -> None:
    line = report_line(SPEC, _outcome(status="timeout", duration_ms=3000.0))
    assert "\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t" in line
    assert line.endswith("\tStatus: timeout\t\n")


def test_events_are_ordered_and_framed() -> None:
    outcome = _outcome(
        start_ms=1000,
        pre_lines=[LogLine(990, "init output")],
        lines=[LogLine(1001, "hello"), LogLine(999, "clock went back")],
    )
    events = invocation_events(SPEC, outcome, end_ms=1010)
    assert [e["message"] for e in events][:5] == [
        "init output\n",
        "START RequestId: id-1 Version: $LATEST\n",
        "hello\n",
        "clock went back\n",
        "END RequestId: id-1\n",
    ]
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)


def test_tail_is_the_last_4096_bytes_in_base64() -> None:
    events = [{"timestamp": 1, "message": "x" * 5000 + "\n"}, {"timestamp": 2, "message": "end\n"}]
    decoded = base64.b64decode(tail(events))
    assert len(decoded) == 4096 and decoded.endswith(b"x\nend\n")
