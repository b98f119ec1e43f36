"""SigV4 verification: a request counts only if signed by a key the emulator issued.

The signature is not re-implemented here: the request is rebuilt from what
arrived (method, raw path and query, the headers the client says it signed, the
body) and botocore's own signer computes what the signature must be with the
secret of the claimed access key. As on AWS, the request time may differ from
the emulator's clock by at most 15 minutes, and the ``x-amz-content-sha256``
header, when sent, must be the body's hash (or one of the unsigned-payload
markers the AWS CLI sends to S3).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_CLOCK_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;_.-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
# x-amz-content-sha256 values that mean "the body is not part of the signature".
_UNSIGNED_BODY = ("UNSIGNED-PAYLOAD", "STREAMING-")

MISSING = "missing"  # no SigV4 Authorization header at all
UNKNOWN_KEY = "unknown_key"  # a key the emulator never issued
BAD_SIGNATURE = "bad_signature"  # wrong secret, altered request, malformed header
EXPIRED = "expired"  # request time more than 15 minutes from the emulator's clock


@dataclass(frozen=True)
class Verdict:
    """The outcome for one request: ``failure`` is None when the signature holds."""

    failure: str | None
    access_key: str = ""
    service: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


def _header(environ: Mapping[str, object], name: str) -> str | None:
    key = name.upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = "HTTP_" + key
    value = environ.get(key)
    return None if value is None else str(value)


def _request_time(environ: Mapping[str, object]) -> datetime | None:
    amz_date = _header(environ, "x-amz-date")
    try:
        if amz_date:
            return datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
        date = _header(environ, "date")
        return parsedate_to_datetime(date).astimezone(timezone.utc) if date else None
    except (TypeError, ValueError):
        return None


def _raw_path(environ: Mapping[str, object]) -> str:
    """The path exactly as sent (percent-encoding intact): that is what was signed."""
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    if raw.startswith(("http://", "https://")):  # absolute form
        raw = urlsplit(raw).path
    raw = raw.split("?", 1)[0]
    if not raw:
        from urllib.parse import quote

        raw = quote(str(environ.get("PATH_INFO") or "/"), safe="/~")
    return raw


def _expired_message(signed: datetime, now: datetime) -> str:
    stamp = signed.strftime(_AMZ_DATE)
    if signed < now:
        return (
            f"Signature expired: {stamp} is now earlier than "
            f"{(now - MAX_CLOCK_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - 15 min.)"
        )
    return (
        f"Signature not yet current: {stamp} is still later than "
        f"{(now + MAX_CLOCK_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + 15 min.)"
    )


def verify(
    environ: Mapping[str, object],
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: datetime | None = None,
) -> Verdict:
    """Check the request's SigV4 signature against the secret of its access key."""
    match = _AUTHORIZATION.match(str(environ.get("HTTP_AUTHORIZATION") or "").strip())
    if match is None:
        if str(environ.get("HTTP_AUTHORIZATION") or "").startswith("AWS4-HMAC-SHA256"):
            return Verdict(BAD_SIGNATURE)
        return Verdict(MISSING)
    access_key, service, region = match["key"], match["service"], match["region"]
    verdict = Verdict(BAD_SIGNATURE, access_key, service)
    secret = secret_for(access_key)
    if secret is None:
        return Verdict(UNKNOWN_KEY, access_key, service)
    signed_at = _request_time(environ)
    if signed_at is None or signed_at.strftime("%Y%m%d") != match["date"]:
        return verdict
    now = now or datetime.now(timezone.utc)
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        return Verdict(EXPIRED, access_key, service, _expired_message(signed_at, now))
    body_hash = _header(environ, "x-amz-content-sha256")
    if body_hash is not None and not body_hash.startswith(_UNSIGNED_BODY):
        if not hmac.compare_digest(body_hash, hashlib.sha256(body).hexdigest()):
            return verdict
    signed_names = match["headers"].split(";")
    if "host" not in signed_names:
        return verdict  # AWS requires the Host header to be signed
    headers = {}
    for name in signed_names:
        value = _header(environ, name)
        if value is None:
            return verdict
        headers[name] = value
    query = str(environ.get("QUERY_STRING") or "")
    url = f"http://{headers['host']}{_raw_path(environ)}" + (f"?{query}" if query else "")
    request = AWSRequest(
        method=str(environ.get("REQUEST_METHOD") or "GET"), url=url, headers=headers, data=body
    )
    request.context["timestamp"] = signed_at.strftime(_AMZ_DATE)
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(Credentials(access_key, secret), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return verdict
    return Verdict(None, access_key, service)
