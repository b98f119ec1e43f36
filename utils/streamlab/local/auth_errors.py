"""AWS's own answer to a request whose signature does not hold, in the request's protocol.

An SDK or the AWS CLI then raises the same ``ClientError`` it would raise on
AWS (``UnrecognizedClientException`` / ``InvalidClientTokenId`` for a key AWS
does not know, ``InvalidSignatureException`` / ``SignatureDoesNotMatch`` for a
wrong secret), so what a learner reads is what AWS says. The protocol is read
from the request itself: a JSON target header, a query ``Action``, S3's
signing name, else Lambda's REST JSON.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from .signatures import BAD_SIGNATURE, EXPIRED, MISSING, UNKNOWN_KEY, Verdict

INVALID_TOKEN = "The security token included in the request is invalid."
BAD_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details."
)
# failure -> (JSON code, query code, S3 code, message)
_CODES = {
    MISSING: (
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
        "AccessDenied",
        "Missing Authentication Token",
    ),
    UNKNOWN_KEY: (
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        INVALID_TOKEN,
    ),
    BAD_SIGNATURE: (
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "SignatureDoesNotMatch",
        BAD_SIGNATURE_MESSAGE,
    ),
    EXPIRED: ("InvalidSignatureException", "SignatureDoesNotMatch", "RequestTimeTooSkewed", ""),
}
_S3_MESSAGES = {
    MISSING: "Access Denied",
    UNKNOWN_KEY: "The AWS Access Key Id you provided does not exist in our records.",
    EXPIRED: "The difference between the request time and the current time is too large.",
}


def protocol_of(environ: Mapping[str, object], body: bytes, service: str) -> str:
    """``json``, ``query``, ``rest-xml`` (S3) or ``rest-json`` (Lambda and the rest)."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if "Action=" in str(environ.get("QUERY_STRING") or "") or (
        "x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE") or "")
        and b"Action=" in body[:4096]
    ):
        return "query"
    if service == "s3":
        return "rest-xml"
    return "rest-json"


def refusal_response(environ: Mapping[str, object], body: bytes, verdict: Verdict) -> Response:
    """The 400/403 answer AWS gives for ``verdict`` in the request's protocol."""
    json_code, query_code, s3_code, message = _CODES[verdict.failure or BAD_SIGNATURE]
    message = verdict.message or message
    request_id = str(uuid.uuid4())
    protocol = protocol_of(environ, body, verdict.service)
    if protocol == "json":  # DynamoDB, Streams, Logs, SQS: 400 and a typed JSON body
        payload = {"__type": f"com.amazon.coral.service#{json_code}", "message": message}
        return Response(
            json.dumps(payload),
            status=400,
            content_type="application/x-amz-json-1.0",
            headers={"x-amzn-RequestId": request_id},
        )
    if protocol == "query":  # IAM, STS, SNS (and SQS's older protocol)
        xml = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{query_code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(xml, status=403, content_type="text/xml")
    if protocol == "rest-xml":
        message = _S3_MESSAGES.get(verdict.failure or "", BAD_SIGNATURE_MESSAGE)
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3_code}</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        return Response(xml, status=403, content_type="application/xml")
    return Response(  # Lambda's REST JSON: the code travels in a header
        json.dumps({"Type": "User", "message": message}),
        status=403,
        content_type="application/json",
        headers={"x-amzn-ErrorType": json_code, "x-amzn-RequestId": request_id},
    )


def access_denied_response(
    environ: Mapping[str, object], body: bytes, service: str, message: str
) -> Response:
    """AWS's AccessDenied for a call the caller's IAM policy does not allow, in its protocol."""
    request_id = str(uuid.uuid4())
    protocol = protocol_of(environ, body, service)
    if protocol == "json":
        payload = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}
        return Response(
            json.dumps(payload),
            status=400,
            content_type="application/x-amz-json-1.0",
            headers={"x-amzn-RequestId": request_id},
        )
    if protocol in ("query", "rest-xml"):
        xml = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(xml, status=403, content_type="text/xml")
    return Response(
        json.dumps({"Type": "User", "Message": message}),
        status=403,
        content_type="application/json",
        headers={"x-amzn-ErrorType": "AccessDeniedException", "x-amzn-RequestId": request_id},
    )
