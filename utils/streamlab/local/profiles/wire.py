"""HTTP helpers for the profile's interceptor: AWS's error shapes and passing a request on.

The profile answers some requests itself (a throttle, a refusal) and lets the
rest go on to the other interceptors and moto, sometimes changing the answer
(a table still ``CREATING``). Protocol details stay here; the behaviour
modules deal in parsed JSON.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass
class Answer:
    """A response from further down the emulator, fully read."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def response(self) -> Response:
        return Response(self.body, status=self.status, headers=self.headers)

    def with_json(self, payload: Any) -> Response:
        """The same answer with another JSON body (DynamoDB's body checksum recomputed)."""
        body = json.dumps(payload, default=str).encode()
        headers = []
        for key, value in self.headers:
            if key.lower() == "x-amz-crc32":  # boto3 checks it and retries on a mismatch
                value = str(zlib.crc32(body))
            if key.lower() != "content-length":
                headers.append((key, value))
        return Response(body, status=self.status, headers=headers)


Forward = Callable[[dict, Callable], Any]


def pass_on(forward: Forward, request: Request, body: bytes | None = None) -> Answer:
    """Let the rest of the emulator answer ``request`` (with ``body`` instead of its own)."""
    data = request.get_data() if body is None else body
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        captured["status"], captured["headers"] = status, headers
        return lambda chunk: None

    result = forward(environ, start_response)
    try:
        raw = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    return Answer(int(str(captured["status"]).split()[0]), list(captured["headers"]), raw)


def request_json(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(request.get_data() or b"{}")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def lambda_error(code: str, message: str, status: int = 400, **extra: str) -> Response:
    """The Lambda API's REST-JSON error (boto3 reads the code from the header)."""
    body = {"Type": "User", "message": message, **extra}
    return Response(
        json.dumps(body),
        status=status,
        headers={"x-amzn-ErrorType": code},
        mimetype="application/json",
    )


def dynamodb_error(code: str, message: str, status: int = 400) -> Response:
    """DynamoDB's and DynamoDB Streams' JSON 1.0 error."""
    return Response(
        json.dumps({"__type": DYNAMODB_ERROR_PREFIX + code, "message": message}),
        status=status,
        mimetype="application/x-amz-json-1.0",
    )


def logs_error(code: str, message: str, status: int = 400) -> Response:
    """CloudWatch Logs' JSON 1.1 error."""
    return Response(
        json.dumps({"__type": code, "message": message}),
        status=status,
        mimetype="application/x-amz-json-1.1",
    )
