"""What a web page or another local process could send is refused, and leaves nothing behind.

Each attack creates an IAM role, then a function whose code writes a file when it
runs, then invokes it. The same three calls made through the kit succeed (so the
requests themselves are sound); made by an attacker (a page after DNS rebinding,
a cross-site form, the old fixed dummy keys, a wrong secret) every one is
refused with AWS's error and no role, no function and no file exist afterwards.
"""

from __future__ import annotations

import base64
import http.client
import json
import stat
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from lambda_helpers import TRUST_POLICY, zip_source

from streamlab.aws.session import Lab
from streamlab.local import paths
from streamlab.local.health import HEALTH_PATH
from streamlab.local.identities import issued

FAKE_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/iam/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
NO_RETRIES = botocore.config.Config(retries={"max_attempts": 1}, proxies={})


def _code_writing(marker: Path) -> bytes:
    return zip_source(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n\n"
        "def handler(event, context):\n    return 'ran'\n"
    )


def _names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"role": f"attacker-role-{suffix}", "function": f"attacker-fn-{suffix}"}


def _raw(
    endpoint: str, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One request exactly as given (Host included), as a page or a script would send it."""
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _attack_calls(marker: Path, names: dict[str, str], role_arn: str) -> list[tuple]:
    """CreateRole, CreateFunction, Invoke as raw HTTP (method, path, body, headers)."""
    create_role = urlencode(
        {
            "Action": "CreateRole",
            "Version": "2010-05-08",
            "RoleName": names["role"],
            "AssumeRolePolicyDocument": TRUST_POLICY,
        }
    ).encode()
    create_function = json.dumps(
        {
            "FunctionName": names["function"],
            "Runtime": "python3.12",
            "Role": role_arn,
            "Handler": "lambda_function.handler",
            "Code": {"ZipFile": base64.b64encode(_code_writing(marker)).decode()},
        }
    ).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    rest = {"Content-Type": "application/json"}
    return [
        ("POST", "/", create_role, form),
        ("POST", "/2015-03-31/functions", create_function, rest),
        ("POST", f"/2015-03-31/functions/{names['function']}/invocations", b"{}", rest),
    ]


def _assert_nothing_left(lab: Lab, marker: Path, names: dict[str, str]) -> None:
    with pytest.raises(ClientError) as role:
        lab.iam.get_role(RoleName=names["role"])
    assert role.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as function:
        lab.lambda_.get_function(FunctionName=names["function"])
    assert function.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert not marker.exists(), "the attacker's code ran"


def _through_boto3(session: boto3.Session, endpoint: str, marker: Path, names: dict) -> None:
    iam = session.client("iam", endpoint_url=endpoint, config=NO_RETRIES)
    lambda_ = session.client("lambda", endpoint_url=endpoint, config=NO_RETRIES)
    arn = iam.create_role(RoleName=names["role"], AssumeRolePolicyDocument=TRUST_POLICY)
    lambda_.create_function(
        FunctionName=names["function"],
        Runtime="python3.12",
        Role=arn["Role"]["Arn"],
        Handler="lambda_function.handler",
        Code={"ZipFile": _code_writing(marker)},
    )
    lambda_.get_waiter("function_active_v2").wait(FunctionName=names["function"])
    lambda_.invoke(FunctionName=names["function"], Payload=b"{}")


def test_the_same_calls_through_the_kit_work(lab: Lab, emulator: str, tmp_path: Path) -> None:
    marker, names = tmp_path / "ran", _names()
    _through_boto3(lab.session, emulator, marker, names)
    assert marker.read_text() == "ran"
    lab.lambda_.delete_function(FunctionName=names["function"])
    lab.iam.delete_role(RoleName=names["role"])


def test_dns_rebinding_host_with_a_made_up_signature_is_refused(
    lab: Lab, emulator: str, tmp_path: Path
) -> None:
    marker, names = tmp_path / "ran", _names()
    port = urlsplit(emulator).port
    role_arn = f"arn:aws:iam::{lab.account_id}:role/{names['role']}"
    for method, path, body, headers in _attack_calls(marker, names, role_arn):
        for host in (f"attacker.example:{port}", "attacker.example"):
            status, answer_headers, text = _raw(
                emulator,
                method,
                path,
                body,
                {
                    **headers,
                    "Host": host,
                    "Authorization": FAKE_AUTHORIZATION,
                    "X-Amz-Date": "20261128T000000Z",
                },
            )
            assert status == 403 and text.startswith(b"Refused: Host"), text
            assert not any(name.lower().startswith("access-control") for name in answer_headers)
    _assert_nothing_left(lab, marker, names)


@pytest.mark.parametrize(
    "browser",
    [
        {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_site_form_post_is_refused(
    lab: Lab, emulator: str, tmp_path: Path, browser: dict[str, str]
) -> None:
    marker, names = tmp_path / "ran", _names()
    host = urlsplit(emulator).netloc
    role_arn = f"arn:aws:iam::{lab.account_id}:role/{names['role']}"
    for method, path, body, headers in _attack_calls(marker, names, role_arn):
        status, answer_headers, text = _raw(
            emulator, method, path, body, {**headers, "Host": host, **browser}
        )
        assert status == 403 and text.startswith(b"Refused"), text
        assert not any(name.lower().startswith("access-control") for name in answer_headers)
    _assert_nothing_left(lab, marker, names)


def test_unsigned_requests_from_a_local_process_are_refused(
    lab: Lab, emulator: str, tmp_path: Path
) -> None:
    marker, names = tmp_path / "ran", _names()
    host = urlsplit(emulator).netloc
    role_arn = f"arn:aws:iam::{lab.account_id}:role/{names['role']}"
    codes = []
    for method, path, body, headers in _attack_calls(marker, names, role_arn):
        for extra in ({}, {"Authorization": FAKE_AUTHORIZATION, "X-Amz-Date": "20261128T000000Z"}):
            status, _, text = _raw(emulator, method, path, body, {**headers, "Host": host, **extra})
            assert status == 403, text
            codes.append(text)
    assert b"MissingAuthenticationToken" in codes[0] and b"InvalidClientTokenId" in codes[1]
    _assert_nothing_left(lab, marker, names)


@pytest.mark.parametrize("origin", ["https://attacker.example", "http://127.0.0.1:8888"])
def test_preflights_get_no_cors_permission(emulator: str, origin: str) -> None:
    status, headers, _ = _raw(
        emulator,
        "OPTIONS",
        "/2015-03-31/functions",
        b"",
        {
            "Host": urlsplit(emulator).netloc,
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-date",
        },
    )
    assert status == 403
    assert not any(name.lower().startswith("access-control") for name in headers)


def _attacker_session(access_key: str, secret_key: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name="us-east-1"
    )


@pytest.mark.parametrize(
    ("keys", "iam_code"),
    [
        (("testing", "testing"), "InvalidClientTokenId"),  # the old fixed dummy keys
        (("LAMBDAFUNCTIONROLE", "testing"), "InvalidClientTokenId"),
        (("LAMBDASERVICEPRINCIPAL", "testing"), "InvalidClientTokenId"),
        ((None, "a-wrong-secret"), "SignatureDoesNotMatch"),  # the right key, a wrong secret
    ],
)
def test_old_dummy_keys_and_a_wrong_secret_are_refused_with_awss_errors(
    lab: Lab, emulator: str, tmp_path: Path, keys: tuple[Any, str], iam_code: str
) -> None:
    marker, names = tmp_path / "ran", _names()
    access_key = keys[0] or issued().notebook.access_key
    session = _attacker_session(access_key, keys[1])
    with pytest.raises(ClientError) as refused:
        _through_boto3(session, emulator, marker, names)
    assert refused.value.response["Error"]["Code"] == iam_code
    lambda_code = {
        "InvalidClientTokenId": "UnrecognizedClientException",
        "SignatureDoesNotMatch": "InvalidSignatureException",
    }[iam_code]
    lambda_ = session.client("lambda", endpoint_url=emulator, config=NO_RETRIES)
    with pytest.raises(ClientError) as refused:
        lambda_.create_function(
            FunctionName=names["function"],
            Runtime="python3.12",
            Role=f"arn:aws:iam::{lab.account_id}:role/{names['role']}",
            Handler="lambda_function.handler",
            Code={"ZipFile": _code_writing(marker)},
        )
    assert refused.value.response["Error"]["Code"] == lambda_code
    dynamodb = session.client("dynamodb", endpoint_url=emulator, config=NO_RETRIES)
    with pytest.raises(ClientError) as refused:
        dynamodb.list_tables()
    assert refused.value.response["Error"]["Code"] == lambda_code
    _assert_nothing_left(lab, marker, names)


def test_a_signed_call_made_from_a_loopback_page_carries_no_cors_headers(
    lab: Lab, emulator: str
) -> None:
    def add_origin(request: Any, **kwargs: Any) -> None:
        request.headers["Origin"] = "http://127.0.0.1:8888"

    client = lab.client("dynamodb")
    client.meta.events.register("before-sign.dynamodb.ListTables", add_origin)
    answer = client.list_tables()
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert not any(name.startswith("access-control") for name in headers)


def test_health_answers_unsigned_names_the_owner_and_reveals_no_secret(emulator: str) -> None:
    import os

    status, _, body = _raw(emulator, "GET", HEALTH_PATH, b"", {"Host": urlsplit(emulator).netloc})
    assert status == 200
    info = json.loads(body)
    assert info["owner"] == str(os.getuid())
    text = body.decode()
    for pair in issued().keys.values():
        assert pair.secret_key not in text and pair.access_key not in text


def test_the_credentials_are_private_to_their_owner(emulator: str) -> None:
    folder, credentials = paths.state_dir(), paths.credentials_file()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    identities = issued()
    keys = [pair.access_key for pair in identities.keys.values()]
    assert len(set(keys)) == 3 and "testing" not in keys
    assert identities.function.access_key.startswith("ASIA")  # a role's temporary keys


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/moto-api/reset"),
        ("GET", "/moto-api/data.json"),
        ("DELETE", "/_streamlab/actions"),
    ],
)
def test_moto_and_kit_control_endpoints_need_a_signature_too(
    lab: Lab, emulator: str, method: str, path: str
) -> None:
    table = f"survives-{uuid.uuid4().hex[:8]}"
    lab.dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
    )
    try:
        status, _, _ = _raw(emulator, method, path, b"", {"Host": urlsplit(emulator).netloc})
        assert status == 403
        assert table in lab.dynamodb.list_tables()["TableNames"]  # no reset happened
    finally:
        lab.dynamodb.delete_table(TableName=table)


def test_the_request_log_says_why_a_call_was_refused_and_shows_no_secret(
    lab: Lab, emulator: str
) -> None:
    session = _attacker_session(issued().notebook.access_key, "a-wrong-secret")
    with pytest.raises(ClientError):
        session.client("dynamodb", endpoint_url=emulator, config=NO_RETRIES).list_tables()
    port = urlsplit(emulator).port
    assert port is not None
    log = ""
    for _ in range(50):  # the line is written when the answer has been sent
        log = paths.log_file(port).read_text()
        if "refused:bad_signature" in log:
            break
        time.sleep(0.1)
    assert "POST / refused:bad_signature 400" in log
    assert all(pair.secret_key not in log for pair in issued().keys.values())
