"""CloudWatch Logs written as Lambda writes them, readable with boto3."""

from __future__ import annotations

import re

from lambda_helpers import deploy, invoke, log_messages

from streamlab.aws.session import Lab

REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REPORT = re.compile(
    rf"^REPORT RequestId: {REQUEST_ID}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms"
    r"\tMemory Size: 128 MB\tMax Memory Used: \d+ MB(\tInit Duration: \d+\.\d\d ms)?\t\n$"
)

CHATTY = """
import logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("loading module")
def handler(event, context):
    print("first line")
    print("second line")
    logger.info("score %s", event.get("score"))
    if event.get("fail"):
        raise KeyError("player")
    return "ok"
"""


def test_log_group_and_stream_named_as_aws_names_them(lab: Lab) -> None:
    name = deploy(lab, CHATTY)
    invoke(lab, name)
    groups = lab.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert [group["logGroupName"] for group in groups] == [f"/aws/lambda/{name}"]
    streams = lab.logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", streams[0]["logStreamName"])


def test_start_output_end_report_in_aws_formats(lab: Lab) -> None:
    name = deploy(lab, CHATTY)
    response = invoke(lab, name, {"score": 5})
    request_id = response["ResponseMetadata"]["RequestId"]
    messages = log_messages(lab, name)
    assert messages[0] == "loading module\n"  # init output comes before START
    assert messages[1] == f"START RequestId: {request_id} Version: $LATEST\n"
    assert messages[2:4] == ["first line\n", "second line\n"]
    assert re.fullmatch(
        rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\tscore 5\n",
        messages[4],
    )
    assert messages[5] == f"END RequestId: {request_id}\n"
    assert REPORT.match(messages[6])
    assert "\tInit Duration: " in messages[6]
    assert len(messages) == 7


def test_get_log_events_reads_the_stream(lab: Lab) -> None:
    name = deploy(lab, CHATTY)
    invoke(lab, name)
    group = f"/aws/lambda/{name}"
    stream = lab.logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"]
    events = lab.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    texts = [event["message"] for event in events["events"]]
    assert texts[1].startswith("START RequestId: ")
    assert texts[-1].startswith("REPORT RequestId: ")
    stamps = [event["timestamp"] for event in events["events"]]
    assert stamps == sorted(stamps)


def test_unhandled_error_is_one_event_with_lines_joined_by_carriage_returns(lab: Lab) -> None:
    name = deploy(lab, CHATTY)
    invoke(lab, name, {"fail": True})
    errors = [m for m in log_messages(lab, name) if m.startswith("[ERROR]")]
    assert len(errors) == 1
    lines = errors[0].rstrip("\n").split("\r")
    assert lines[0] == "[ERROR] KeyError: 'player'"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[2].startswith('\u00a0\u00a0File "') and lines[2].endswith(", in handler")
    assert lines[3] == '\u00a0\u00a0\u00a0\u00a0raise KeyError("player")'


def test_warm_invocation_has_no_init_duration(lab: Lab) -> None:
    name = deploy(lab, CHATTY)
    invoke(lab, name)
    invoke(lab, name)
    reports = [m for m in log_messages(lab, name) if m.startswith("REPORT")]
    assert len(reports) == 2
    assert "Init Duration" in reports[0]
    assert "Init Duration" not in reports[1]


def test_log_type_tail_returns_the_last_4_kb(lab: Lab) -> None:
    name = deploy(
        lab,
        "def handler(event, context):\n"
        "    for i in range(event['lines']):\n"
        "        print(f'line {i:05d} ' + 'x' * 40)\n",
    )
    small = invoke(lab, name, {"lines": 2}, LogType="Tail")
    assert small["log"].startswith("START RequestId: ")
    assert "line 00001" in small["log"]
    big = invoke(lab, name, {"lines": 500}, LogType="Tail")
    assert len(big["log"].encode()) == 4096
    assert big["log"].rstrip("\t\n").split("\n")[-1].startswith("REPORT RequestId: ")
    assert "line 00499" in big["log"] and "line 00000" not in big["log"]


def test_without_log_type_no_log_result(lab: Lab) -> None:
    name = deploy(lab, CHATTY)
    assert "LogResult" not in invoke(lab, name)
