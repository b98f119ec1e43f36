"""An AWS error in a learner's cell reads as a few lines (code, operation, message, the
learner's line, a hint) and still fails the cell; never a 30-line botocore stack."""

from __future__ import annotations

import re
from collections.abc import Iterator

import botocore.exceptions
import pytest
from IPython.core.interactiveshell import InteractiveShell

from streamlab.aws.session import Lab
from streamlab.jupyter import aws_errors, error_display

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def shell(lab: Lab) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    error_display.install_error_display(shell)
    shell.user_ns["lab"] = lab
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def _run(shell: InteractiveShell, capsys: pytest.CaptureFixture[str], cell: str) -> list[str]:
    result = shell.run_cell(cell)
    assert result.error_in_exec is not None, "the cell must still fail"
    assert isinstance(result.error_in_exec, aws_errors.AWS_ERRORS)
    shown = [ANSI.sub("", line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert "Traceback" not in "\n".join(shown)
    assert len(shown) <= aws_errors.MAX_LINES
    return shown


def test_a_scan_before_the_table_exists(shell, capsys) -> None:
    shown = _run(shell, capsys, "TABLE = 'NoSuchTable'\n\nlab.dynamodb.scan(TableName=TABLE)")
    assert shown[0].startswith("ResourceNotFoundException in Scan: ")
    assert shown[1].strip() == "your line 3: lab.dynamodb.scan(TableName=TABLE)"
    assert "run the cell that creates it" in shown[2]


def test_an_invoke_before_the_function_is_deployed(shell, capsys) -> None:
    shown = _run(shell, capsys, "lab.lambda_.invoke(FunctionName='not-deployed')")
    assert shown[0].startswith("ResourceNotFoundException in Invoke: Function not found")
    assert "%%lambda_function" in shown[-1]


def test_a_queue_url_where_its_arn_belongs(shell, capsys, lab: Lab) -> None:
    queue_url = lab.sqs.create_queue(QueueName="aws-errors-dlq")["QueueUrl"]
    cell = (
        "from streamlab.aws import streams, tables\n"
        "tables.create_table(lab, 'AwsErrorsGames', hash_key=('RecordID', 'S'),"
        " stream_view_type='NEW_IMAGE')\n"
        "arn = streams.stream_arn(lab, 'AwsErrorsGames')\n"
        "lab.lambda_.create_event_source_mapping(EventSourceArn=arn, FunctionName='f',"
        " StartingPosition='TRIM_HORIZON',"
        f" DestinationConfig={{'OnFailure': {{'Destination': {queue_url!r}}}}})"
    )
    shown = _run(shell, capsys, cell)
    assert shown[0].startswith("InvalidParameterValueException in CreateEventSourceMapping")
    assert "not a queue URL" in shown[-1]


def test_a_filter_pattern_given_as_a_dict(shell, capsys) -> None:
    cell = (
        "lab.lambda_.create_event_source_mapping(FunctionName='f', EventSourceArn='arn',"
        " FilterCriteria={'Filters': [{'Pattern': {'eventName': ['INSERT']}}]})"
    )
    shown = _run(shell, capsys, cell)
    assert shown[0].startswith("ParamValidationError: Parameter validation failed: ")
    assert "Pattern" in shown[0]
    assert "json.dumps" in shown[-1]


def test_describe_keeps_aws_wording_and_adds_no_hint_it_does_not_have() -> None:
    error = botocore.exceptions.ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional "
                   "request failed"}},
        "PutItem",
    )
    assert aws_errors.describe(error, None, lambda name: False) == [
        "ConditionalCheckFailedException in PutItem: The conditional request failed"
    ]


def test_a_client_with_keys_the_emulator_did_not_issue_is_told_what_to_do(
    shell, capsys, emulator: str
) -> None:
    cell = (
        "import boto3\n"
        f"client = boto3.client('dynamodb', endpoint_url={emulator!r}, region_name='us-east-1',"
        " aws_access_key_id='testing', aws_secret_access_key='testing')\n"
        "client.list_tables()"
    )
    shown = _run(shell, capsys, cell)
    assert shown[0].startswith("UnrecognizedClientException in ListTables: The security token")
    assert "streamlab stop" in shown[-1]


@pytest.mark.parametrize(
    ("code", "message", "operation", "expected"),
    [
        (
            "LimitExceededException",
            "GetRecords was called with a value of more than 1000 for the limit request "
            "parameter.",
            "GetRecords",
            "Limit=1000 or less",
        ),
        (
            "ResourceNotFoundException",
            "Requested resource not found: Stream: arn:aws:dynamodb:us-east-1:1:table/T/stream/L "
            "not found",
            "DescribeStream",
            "LatestStreamArn",
        ),
    ],
)
def test_stream_limits_get_a_hint_that_is_not_about_throttling_or_tables(
    code: str, message: str, operation: str, expected: str
) -> None:
    error = botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}}, operation
    )
    hint = aws_errors.hint_for(error)
    assert hint is not None and expected in hint
    assert "throttling" not in hint and "table" not in hint.split(";")[0]
