"""Invoke's HTTP boundary: which requests it takes, and where region and account come from."""

from __future__ import annotations

import base64

import pytest

from streamlab.local.runtime.api_errors import LambdaApiError
from streamlab.local.runtime.interceptor import (
    InvokeInterceptor,
    account_for,
    decode_client_context,
    region_and_access_key,
)

AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261127/eu-west-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)


def test_region_and_key_come_from_the_credential_scope() -> None:
    assert region_and_access_key(AUTH) == ("eu-west-1", "testing")
    assert region_and_access_key("") == ("us-east-1", "")


def test_account_follows_motos_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    assert account_for("testing", {}) == "123456789012"
    assert account_for("testing", {"x-moto-account-id": "111122223333"}) == "111122223333"


@pytest.mark.parametrize(
    ("method", "path", "taken"),
    [
        ("POST", "/2015-03-31/functions/scores/invocations", True),
        (
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ax/invocations",
            True,
        ),
        ("GET", "/2015-03-31/functions/scores/invocations", False),
        ("POST", "/2015-03-31/functions", False),
        ("GET", "/2015-03-31/functions/scores", False),
    ],
)
def test_only_invoke_is_taken_from_moto(method: str, path: str, taken: bool) -> None:
    interceptor = InvokeInterceptor(runtime=None)  # type: ignore[arg-type]
    assert interceptor.matches({"REQUEST_METHOD": method, "PATH_INFO": path}) is taken


def test_client_context_is_base64_json() -> None:
    encoded = base64.b64encode(b'{"custom": {"a": 1}}').decode()
    assert decode_client_context(encoded) == '{"custom": {"a": 1}}'
    with pytest.raises(LambdaApiError):
        decode_client_context("not base64!")
