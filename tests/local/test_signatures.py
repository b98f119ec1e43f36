"""SigV4 verification, offline: what botocore signs passes; any change to it does not."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from streamlab.local.signatures import BAD_SIGNATURE, EXPIRED, MISSING, UNKNOWN_KEY, verify

KEY, SECRET = "AKIAEXAMPLEEXAMPLE01", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3"
NOW = datetime(2026, 11, 28, 9, 0, 0, tzinfo=timezone.utc)


def _secret_for(key: str) -> str | None:
    return SECRET if key == KEY else None


def _signed_environ(
    *,
    method: str = "POST",
    url: str = "http://127.0.0.1:4599/",
    body: bytes = b'{"TableName": "T"}',
    headers: dict[str, str] | None = None,
    service: str = "dynamodb",
    key: str = KEY,
    secret: str = SECRET,
    at: datetime = NOW,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict, bytes]:
    """A request as botocore signs it, turned into the WSGI environ a server would see."""
    import botocore.auth

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: at.replace(tzinfo=None))
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(key, secret), service, "us-east-1").add_auth(request)
    parts = urlsplit(url)
    environ = {
        "REQUEST_METHOD": method,
        "RAW_URI": parts.path + (f"?{parts.query}" if parts.query else ""),
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "HTTP_HOST": parts.netloc,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in request.headers.items():
        upper = name.upper().replace("-", "_")
        key_name = upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{upper}"
        environ[key_name] = value
    return environ, body


def test_a_request_signed_with_the_issued_secret_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    environ, body = _signed_environ(monkeypatch=monkeypatch, headers={"X-Amz-Target": "X.Y"})
    verdict = verify(environ, body, _secret_for, now=NOW)
    assert verdict.ok and verdict.access_key == KEY and verdict.service == "dynamodb"


def test_an_encoded_rest_path_and_query_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    url = (
        "http://127.0.0.1:4599/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction"
        "%3Af/invocations?Qualifier=%24LATEST&b=2"
    )
    environ, body = _signed_environ(monkeypatch=monkeypatch, url=url, service="lambda")
    assert verify(environ, body, _secret_for, now=NOW).ok


def test_s3_with_an_unsigned_payload_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    environ, body = _signed_environ(
        monkeypatch=monkeypatch,
        method="PUT",
        url="http://127.0.0.1:4599/bucket/a%20b",
        service="s3",
        body=b"data",
    )
    assert verify(environ, body, _secret_for, now=NOW).ok


def test_an_unknown_key_and_no_signature_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    environ, body = _signed_environ(monkeypatch=monkeypatch, key="testing", secret="testing")
    assert verify(environ, body, _secret_for, now=NOW).failure == UNKNOWN_KEY
    del environ["HTTP_AUTHORIZATION"]
    assert verify(environ, body, _secret_for, now=NOW).failure == MISSING


def test_a_wrong_secret_is_a_bad_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    environ, body = _signed_environ(monkeypatch=monkeypatch, secret="not-the-secret")
    assert verify(environ, body, _secret_for, now=NOW).failure == BAD_SIGNATURE


@pytest.mark.parametrize(
    "change",
    ["body", "host", "path", "query", "target", "method", "scope date"],
)
def test_any_change_to_a_signed_request_breaks_it(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ, body = _signed_environ(
        monkeypatch=monkeypatch,
        url="http://127.0.0.1:4599/path?x=1",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    if change == "body":
        body = b'{"TableName": "Other"}'
    elif change == "host":
        environ["HTTP_HOST"] = "127.0.0.1:4600"
    elif change == "path":
        environ["RAW_URI"] = environ["PATH_INFO"] = "/other"
    elif change == "query":
        environ["QUERY_STRING"] = "x=2"
    elif change == "target":
        environ["HTTP_X_AMZ_TARGET"] = "DynamoDB_20120810.DeleteTable"
    elif change == "method":
        environ["REQUEST_METHOD"] = "PUT"
    else:
        environ["HTTP_AUTHORIZATION"] = environ["HTTP_AUTHORIZATION"].replace(
            "20261128", "20261127"
        )
    assert verify(environ, body, _secret_for, now=NOW).failure == BAD_SIGNATURE


def test_a_body_that_does_not_match_its_declared_hash_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ, body = _signed_environ(
        monkeypatch=monkeypatch,
        service="s3",
        method="PUT",
        url="http://127.0.0.1:4599/bucket/key",
        body=b"original",
    )
    environ["HTTP_X_AMZ_CONTENT_SHA256"] = "0" * 64
    assert verify(environ, body, _secret_for, now=NOW).failure == BAD_SIGNATURE


@pytest.mark.parametrize("minutes", [-16, 16])
def test_a_request_outside_the_15_minute_window_is_refused(
    minutes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_at = NOW + timedelta(minutes=minutes)
    environ, body = _signed_environ(monkeypatch=monkeypatch, at=signed_at)
    verdict = verify(environ, body, _secret_for, now=NOW)
    assert verdict.failure == EXPIRED
    assert verdict.message.startswith("Signature expired" if minutes < 0 else "Signature not yet")
    assert verify(environ, body, _secret_for, now=signed_at).ok  # the same request, in time
