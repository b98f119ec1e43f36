"""Lambda's Invoke at the HTTP boundary: parse the request, answer as the Lambda API.

Only ``POST /2015-03-31/functions/<name or ARN>/invocations`` is taken from
moto (which would otherwise need Docker); every other Lambda call stays
moto's. The region comes from the request's SigV4 credential scope and the
account from its access key, as moto decides them. This module knows HTTP and
nothing about environments.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from .api_errors import LambdaApiError
from .invocation import LambdaRuntime

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
CREDENTIAL = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/")
DEFAULT_REGION = "us-east-1"


def region_and_access_key(authorization: str) -> tuple[str, str]:
    match = CREDENTIAL.search(authorization or "")
    if not match:
        return DEFAULT_REGION, ""
    return match.group("region"), match.group("key")


def account_for(access_key: str, headers: Any) -> str:
    """The account moto would use for this request (same rules, same order)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if headers.get("x-moto-account-id"):
        return headers["x-moto-account-id"]
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key or "AKIAEXAMPLE")


def decode_client_context(value: str | None) -> str | None:
    """``X-Amz-Client-Context`` is base64 JSON; the Runtime API passes the JSON itself."""
    if not value:
        return None
    try:
        return base64.b64decode(value).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise LambdaApiError(
            400,
            "InvalidParameterValueException",
            "Client context must be a valid Base64-encoded JSON object.",
        ) from None


def error_response(error: LambdaApiError) -> Response:
    return Response(
        json.dumps(error.body()),
        status=error.status,
        headers={"X-Amzn-ErrorType": error.code},
        mimetype="application/json",
    )


class InvokeInterceptor:
    """The emulator interceptor for Invoke (see ``EmulatorApp.add_interceptor``)."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime

    def matches(self, environ: dict) -> bool:
        return environ.get("REQUEST_METHOD") == "POST" and bool(
            INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        )

    def handle(self, request: Request) -> Response:
        match = INVOKE_PATH.match(request.path)
        assert match is not None
        function = unquote(match.group("function"))
        region, access_key = region_and_access_key(request.headers.get("Authorization", ""))
        try:
            result = self.runtime.invoke(
                function,
                request.get_data(),
                region=region,
                account_id=account_for(access_key, request.headers),
                qualifier=request.args.get("Qualifier") or None,
                invocation_type=request.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                client_context=decode_client_context(request.headers.get("X-Amz-Client-Context")),
            )
        except LambdaApiError as error:
            return error_response(error)
        headers = {}
        if result.request_id:
            headers["x-amzn-RequestId"] = result.request_id
        if result.executed_version and result.status_code == 200:
            headers["X-Amz-Executed-Version"] = result.executed_version
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail" and result.log_result:
            headers["X-Amz-Log-Result"] = result.log_result
        return Response(
            result.payload, status=result.status_code, headers=headers, mimetype="application/json"
        )
