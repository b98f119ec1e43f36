"""Invoke a lab function and see what it logged, synchronously or asynchronously.

The answers keep the shape of boto3's ``invoke`` response (``StatusCode``,
``FunctionError``, ``ExecutedVersion``, ``LogResult``, ``Payload``), with the
payload read and parsed from JSON and the log tail decoded from base64, so a
learner can compare them with the raw call cell by cell.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from streamlab.aws import logs
from streamlab.aws.session import Lab

Response = dict[str, Any]


def decode_log_result(log_result: str | None) -> str:
    """``X-Amz-Log-Result``: the last 4 KB of the invocation's log, base64-encoded."""
    if not log_result:
        return ""
    return base64.b64decode(log_result).decode("utf-8", errors="replace")


def decode_payload(raw: bytes) -> Any:
    """The function's JSON answer as Python values (the raw text if it is not JSON)."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _encode_event(event: Any) -> bytes:
    if isinstance(event, (bytes, bytearray)):
        return bytes(event)
    return json.dumps({} if event is None else event).encode("utf-8")


def _plain(response: Response) -> Response:
    """boto3's response without transport details, the request id kept."""
    plain = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    meta = response.get("ResponseMetadata", {})
    plain["ResponseMetadata"] = {
        "RequestId": meta.get("RequestId", ""),
        "HTTPStatusCode": meta.get("HTTPStatusCode"),
    }
    return plain


def request_id(response: Response) -> str:
    """The invocation's request id, as written in its START/END/REPORT log lines."""
    return response["ResponseMetadata"]["RequestId"]


def invoke(
    lab: Lab,
    name: str,
    event: Any = None,
    *,
    show_log: bool = True,
    qualifier: str | None = None,
) -> Response:
    """Invoke ``lab.name(name)`` and wait for its answer; print the log tail Lambda returns."""
    kwargs: dict[str, Any] = {
        "FunctionName": lab.name(name),
        "InvocationType": "RequestResponse",
        "LogType": "Tail",
        "Payload": _encode_event(event),
    }
    if qualifier:
        kwargs["Qualifier"] = qualifier
    response = _plain(lab.lambda_.invoke(**kwargs))
    response["Payload"] = decode_payload(response["Payload"].read())
    response["LogResult"] = decode_log_result(response.get("LogResult"))
    if show_log and response["LogResult"]:
        print(response["LogResult"].rstrip("\n"))
    return response


def invoke_async(
    lab: Lab,
    name: str,
    event: Any = None,
    *,
    show_log: bool = True,
    timeout: float | None = None,
) -> Response:
    """Queue an invocation (``InvocationType="Event"``, HTTP 202) and optionally show its log.

    Lambda answers before the function runs, so there is no log tail in the
    answer; with ``show_log`` the helper waits for that request's lines in
    CloudWatch Logs instead (see ``logs.request_logs``).
    """
    response = _plain(
        lab.lambda_.invoke(
            FunctionName=lab.name(name),
            InvocationType="Event",
            Payload=_encode_event(event),
        )
    )
    response.pop("Payload", None)
    if show_log:
        events = logs.request_logs(lab, lab.name(name), request_id(response), timeout=timeout)
        logs.print_events(events)
    return response
