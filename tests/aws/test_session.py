"""connect(): the local backend ignores real credentials; aws builds without network."""

from __future__ import annotations

import os
import socket

import pytest

from streamlab.aws.session import LOCAL_ACCESS_KEY, SERVICES, connect
from streamlab.config import PREFIX_FROM_STS, load_config, prefix_from_identity
from streamlab.errors import CredentialsError


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail any attempt to open a network connection, and record it."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_local_backend_ignores_real_credentials_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, emulator: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALREALREAL1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://dynamodb.us-east-1.amazonaws.com")
    lab = connect(load_config({"LAB_ENDPOINT": emulator}))
    credentials = lab.session.get_credentials()
    assert credentials.access_key == LOCAL_ACCESS_KEY
    assert credentials.token is None
    for service in ("dynamodb", "lambda", "sts"):
        assert lab.client(service).meta.endpoint_url == emulator
    # The emulator, not AWS, answered: moto's identity for the dummy key.
    assert lab.sts.get_caller_identity()["Account"] == lab.account_id == "123456789012"


def test_every_documented_client_exists_and_points_at_the_emulator(emulator: str) -> None:
    lab = connect(load_config({"LAB_ENDPOINT": emulator}))
    for service in SERVICES:
        client = getattr(lab, "lambda_" if service == "lambda" else service)
        assert client.meta.service_model.service_name == service
        assert client.meta.endpoint_url == emulator
    assert lab.dynamodb_resource.meta.client.meta.endpoint_url == emulator
    assert getattr(lab, "lambda") is lab.lambda_


def test_name_applies_the_prefix() -> None:
    config = load_config({"LAB_PREFIX": "alice-"})
    lab = connect(config, start_emulator=False)
    assert lab.name("GameScores") == "alice-GameScores"


def test_aws_backend_builds_its_session_without_any_network_call(
    monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    lab = connect(
        load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "LAB_PREFIX": "bob-"})
    )
    assert (lab.backend, lab.region, lab.prefix, lab.endpoint) == ("aws", "eu-west-1", "bob-", None)
    assert lab.dynamodb.meta.region_name == "eu-west-1"
    assert "amazonaws.com" in lab.dynamodb.meta.endpoint_url
    assert lab.name("GameScoresByUser") == "bob-GameScoresByUser"
    assert no_network == []


def test_aws_backend_without_credentials_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path, no_network: list[object]
) -> None:
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match="aws configure"):
        connect(load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1"}))


def test_aws_backend_without_region_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path, no_network: list[object]
) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    with pytest.raises(CredentialsError, match="LAB_REGION"):
        connect(load_config({"LAB_BACKEND": "aws"}))


def test_aws_clients_ride_out_throttling_in_adaptive_mode(
    monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    """botocore's default (standard, 3 attempts) gives up after about a second of throttling."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    lab = connect(
        load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "LAB_PREFIX": "bob-"})
    )
    for client in (lab.logs, lab.dynamodbstreams, lab.lambda_, lab.client("dynamodb", "us-west-2")):
        retries = client.meta.config.retries
        assert retries["mode"] == "adaptive" and retries["total_max_attempts"] >= 10
    assert no_network == []


@pytest.fixture
def aws_on_emulator(monkeypatch: pytest.MonkeyPatch, emulator: str) -> str:
    """LAB_BACKEND=aws whose AWS endpoint is this test's private emulator (never the internet)."""
    from streamlab.local.identities import DUMMY_SECRET_KEY, NOTEBOOK_ACCESS_KEY

    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "LAB_PREFIX"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", NOTEBOOK_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return emulator


def test_without_lab_prefix_or_hub_user_the_prefix_is_the_sts_identity(
    aws_on_emulator: str,
) -> None:
    lab = connect(load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "USER": "jovyan"}))
    arn = lab.sts.get_caller_identity()["Arn"]
    assert lab.prefix == prefix_from_identity(arn) and lab.prefix not in ("", "jovyan-")
    assert lab.config.prefix_source.startswith(PREFIX_FROM_STS) and arn in lab.config.prefix_source


def test_a_profile_region_of_us_west_2_moves_the_replica_elsewhere(
    aws_on_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No LAB_REGION: the region is the profile's, known only once boto3 reads it."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # what a us-west-2 profile gives
    lab = connect(load_config({"LAB_BACKEND": "aws", "LAB_PREFIX": "ann-"}))
    assert lab.region == "us-west-2" and lab.config.replica_region == "us-east-1"
