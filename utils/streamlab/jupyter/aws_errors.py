"""An AWS error raised in a learner's cell, shown in a few lines instead of a stack.

A learner who runs cells out of order (a Scan before the table exists, an Invoke before
the function is deployed) or passes a queue's URL where its ARN belongs meets a botocore
error whose traceback runs 30 to 70 lines through boto3 and botocore; the one line that
matters is at the bottom. The kit shows instead what AWS said and where:

    ResourceNotFoundException in Scan: Requested resource not found
      your line 3: lab.dynamodb.scan(TableName=TABLE)
      hint: there is no such table (yet): run the cell that creates it, ...

at most ``MAX_LINES`` lines, with a hint where the kit knows one. The error still
propagates, so the cell counts as failed (Run All stops there; nbval sees the error).
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Callable
from types import TracebackType

import botocore.exceptions

from streamlab.aws.waiting import throttle_message

MAX_LINES = 8
MAX_LINE_LENGTH = 240

# (error code or exception class name, pattern in the message) -> what to do.
# The first match wins; a pattern of "" matches any message.
HINTS: list[tuple[str, str, str]] = [
    (
        "ResourceNotFoundException",
        r"Stream: .* not found",
        "that stream is gone: a disabled stream is readable for 24 hours only, and enabling "
        "it again gives a new ARN; read LatestStreamArn from describe_table.",
    ),
    (
        "ResourceNotFoundException",
        r"Function not found",
        "the function is not deployed (yet): run its %%lambda_function cell first.",
    ),
    (
        "ResourceNotFoundException",
        r"(?i)requested resource not found|non-existent table|table: .* not found",
        "there is no such table (yet): run the cell that creates it first, and name it "
        "with lab.name(...) so it carries your prefix.",
    ),
    (
        "ResourceNotFoundException",
        r"(?i)log group|log stream",
        "no logs yet: Lambda creates the log group at the function's first invocation; "
        "invoke it, then read again.",
    ),
    (
        "ValidationException",
        r"(?i)cannot enable stream|stream.*already (enabled|has)",
        "the table's stream is already on: to change its view type, disable it "
        "(StreamEnabled=False), then enable it again; that makes a new stream with a new ARN.",
    ),
    (
        "ResourceInUseException",
        r"(?i)table already exists",
        "the table exists already: use it, or delete it first if you want a fresh one.",
    ),
    (
        "InvalidParameterValueException",
        r"(?i)destination=https?://",
        "a destination is an ARN (arn:aws:sqs:...), not a queue URL: pass the queue's "
        'QueueArn (queues.create_queue(...)["QueueArn"]), not its QueueUrl.',
    ),
    (
        "InvalidParameterValueException",
        r"(?i)role.*cannot be assumed|assume",
        "the function's role is new: IAM takes a few seconds to make it usable; "
        "run the cell again in a moment.",
    ),
    (
        "ParamValidationError",
        r"(?s)Pattern.*type: <class 'dict'>",
        "a filter pattern is a JSON string: pass Pattern=json.dumps({...}).",
    ),
    (
        "ParamValidationError",
        r"",
        "boto3 checked the call before sending it: compare the parameter named above with "
        "the API reference for this operation.",
    ),
    (
        "LimitExceededException",
        r"more than 1000 for the limit",
        "GetRecords returns at most 1,000 records a call: pass Limit=1000 or less and follow "
        "NextShardIterator for the rest.",
    ),
    (
        "ExpiredIteratorException",
        r"",
        "shard iterators expire after 15 minutes: get a new one with get_shard_iterator.",
    ),
    (
        "TrimmedDataAccessException",
        r"",
        "those records are past the stream's 24-hour retention: start from TRIM_HORIZON.",
    ),
    (
        "UnrecognizedClientException",
        r"",
        "these credentials are not the ones the backend knows: locally, the emulator "
        "accepts only the keys it issued to you (in your state folder); run `streamlab stop`, "
        "then the connect cell again. On AWS, `streamlab doctor` checks your credentials.",
    ),
    (
        "InvalidClientTokenId",
        r"",
        "these credentials are not the ones the backend knows: locally, the emulator "
        "accepts only the keys it issued to you (in your state folder); run `streamlab stop`, "
        "then the connect cell again. On AWS, `streamlab doctor` checks your credentials.",
    ),
    (
        "InvalidSignatureException",
        r"",
        "these credentials are not the ones the backend knows: locally, the emulator "
        "accepts only the keys it issued to you (in your state folder); run `streamlab stop`, "
        "then the connect cell again. On AWS, `streamlab doctor` checks your credentials.",
    ),
    (
        "SignatureDoesNotMatch",
        r"",
        "these credentials are not the ones the backend knows: locally, the emulator "
        "accepts only the keys it issued to you (in your state folder); run `streamlab stop`, "
        "then the connect cell again. On AWS, `streamlab doctor` checks your credentials.",
    ),
    (
        "AccessDeniedException",
        r"",
        "your credentials may not do this: on a shared account you may only touch names "
        "under your prefix (lab.name(...)); `streamlab doctor` checks your permissions.",
    ),
    (
        "ThrottlingException",
        r"",
        "AWS is throttling these calls (limits are per account): wait a few seconds, "
        "then run the cell again.",
    ),
    (
        "TooManyRequestsException",
        r"",
        "Lambda is throttling (too many invocations at once for this account): wait a few "
        "seconds, then run the cell again.",
    ),
    (
        "LimitExceededException",
        r"",
        "a per-account rate limit was hit: wait a few seconds, then run the cell again.",
    ),
    (
        "EndpointConnectionError",
        r"",
        "nothing answers at that address: for the local emulator run `streamlab start` "
        "(or `streamlab doctor`) in a terminal, then run the connect cell again.",
    ),
    (
        "NoCredentialsError",
        r"",
        "no AWS credentials: on LAB_BACKEND=aws run `aws configure` or `aws sso login`; "
        "or unset LAB_BACKEND to use the local emulator.",
    ),
]

AWS_ERRORS: tuple[type[BaseException], ...] = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
)


def error_code(error: BaseException) -> str:
    """AWS's error code (``ResourceNotFoundException``), or botocore's class name."""
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


def error_message(error: BaseException) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Message") or error)
    return str(error)


def hint_for(error: BaseException) -> str | None:
    throttled = throttle_message(error)  # retries ran out: a room shares one account's quotas
    if throttled is not None:
        return throttled
    code, message = error_code(error), error_message(error)
    for hint_code, pattern, hint in HINTS:
        if hint_code == code and re.search(pattern, message):
            return hint
    return None


def learner_line(
    tb: TracebackType | None, is_cell: Callable[[str], bool]
) -> tuple[int, str] | None:
    """The innermost traceback line that is in a notebook cell (the learner's own code)."""
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if is_cell(filename):
            line = linecache.getline(filename, tb.tb_lineno).strip()
            found = (tb.tb_lineno, line)
        tb = tb.tb_next
    return found


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE_LENGTH else text[: MAX_LINE_LENGTH - 3] + "..."


def describe(
    error: BaseException, tb: TracebackType | None, is_cell: Callable[[str], bool]
) -> list[str]:
    """The lines shown for ``error``: what AWS said, the learner's line, and a hint."""
    code = error_code(error)
    operation = getattr(error, "operation_name", None)
    message = error_message(error)
    if isinstance(error, botocore.exceptions.ParamValidationError):
        detail = [line for line in message.splitlines() if line.strip()][1:]
        message = "Parameter validation failed: " + ("; ".join(detail) or message)
    head = f"{code} in {operation}: {message}" if operation else f"{code}: {message}"
    lines = [_short(head)]
    where = learner_line(tb, is_cell)
    if where is not None:
        lines.append(_short(f"  your line {where[0]}: {where[1]}"))
    hint = hint_for(error)
    if hint:
        lines.append(_short(f"  hint: {hint}"))
    return lines[:MAX_LINES]
