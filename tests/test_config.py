"""LAB_* variables: defaults, validation, and one-line errors that list the fix."""

from __future__ import annotations

import pytest

from streamlab.config import (
    DEFAULT_ENDPOINT,
    PREFIX_FROM_HUB,
    PREFIX_FROM_STS,
    load_config,
    prefix_from_identity,
    prefix_from_name,
)
from streamlab.errors import ConfigError


def test_defaults_are_local_us_east_1_no_prefix_default_endpoint() -> None:
    config = load_config({})
    assert (config.backend, config.region, config.prefix, config.endpoint) == (
        "local",
        "us-east-1",
        "",
        DEFAULT_ENDPOINT,
    )


def test_backend_typo_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="choose one of local, aws"):
        load_config({"LAB_BACKEND": "lcoal"})


def test_backend_name_is_case_insensitive() -> None:
    assert load_config({"LAB_BACKEND": "AWS", "LAB_REGION": "eu-west-1"}).backend == "aws"


def test_bad_region_is_rejected_with_an_example() -> None:
    with pytest.raises(ConfigError, match="us-east-1"):
        load_config({"LAB_REGION": "Frankfurt"})


def test_local_endpoint_must_be_loopback() -> None:
    with pytest.raises(ConfigError, match="not on this machine"):
        load_config({"LAB_ENDPOINT": "http://10.0.0.5:4599"})


def test_endpoint_needs_scheme_and_port() -> None:
    with pytest.raises(ConfigError, match="http://127.0.0.1:PORT"):
        load_config({"LAB_ENDPOINT": "127.0.0.1"})


def test_prefix_with_spaces_is_rejected() -> None:
    with pytest.raises(ConfigError, match="LAB_PREFIX"):
        load_config({"LAB_PREFIX": "alice smith"})


def test_aws_prefix_is_left_to_the_sts_identity_not_the_os_user() -> None:
    """On a hosted JupyterLab every OS user is ``jovyan``: the OS name is never the prefix."""
    config = load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "USER": "jovyan"})
    assert config.prefix == "" and config.prefix_pending
    assert config.prefix_source == PREFIX_FROM_STS


def test_aws_prefix_comes_from_the_hub_user_before_sts() -> None:
    config = load_config(
        {"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "JUPYTERHUB_USER": "Ann.Lee@uni.edu"}
    )
    assert (config.prefix, config.prefix_source) == ("annlee-", PREFIX_FROM_HUB)
    assert not config.prefix_pending


def test_lab_prefix_wins_over_the_hub_user() -> None:
    config = load_config(
        {
            "LAB_BACKEND": "aws",
            "LAB_REGION": "eu-west-1",
            "JUPYTERHUB_USER": "ann",
            "LAB_PREFIX": "team7-",
        }
    )
    assert (config.prefix, config.prefix_source) == ("team7-", "LAB_PREFIX")


@pytest.mark.parametrize(
    "environ",
    [
        {"JUPYTERHUB_USER": "jovyan"},
        {"LAB_PREFIX": "root-"},
        {"LAB_PREFIX": "Jovyan-"},
        {"JUPYTERHUB_USER": "ubuntu"},
    ],
)
def test_a_name_the_whole_room_shares_is_refused_in_one_line(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="whole room shares.*LAB_PREFIX=") as raised:
        load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", **environ})
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("arn", "prefix"),
    [
        ("arn:aws:iam::111122223333:user/alice", "alice-"),
        ("arn:aws:iam::111122223333:user/division/J.Doe", "jdoe-"),
        (
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Lab_0a1b2c/bob@example.org",
            "bob-",
        ),
        ("arn:aws:sts::111122223333:assumed-role/Participant/carol-laptop", "carollaptop-"),
        ("arn:aws:sts::111122223333:federated-user/dave", "dave-"),
    ],
)
def test_sts_identity_gives_the_user_or_session_name(arn: str, prefix: str) -> None:
    assert prefix_from_identity(arn) == prefix


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:root",
        "arn:aws:sts::111122223333:assumed-role/NotebookRole/i-0123456789abcdef0",
        "arn:aws:sts::111122223333:assumed-role/Lab/botocore-session-1700000000",
        "arn:aws:sts::111122223333:assumed-role/SageMakerRole/SageMaker",
    ],
)
def test_sts_identities_shared_by_a_room_are_refused(arn: str) -> None:
    config = load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1"})
    with pytest.raises(ConfigError, match="whole room shares"):
        config.with_prefix(prefix_from_identity(arn), PREFIX_FROM_STS)


def test_prefix_from_name_is_a_valid_name_start() -> None:
    assert prefix_from_name("J.Doe") == "jdoe-"
    assert prefix_from_name("x" * 40) == "x" * 20 + "-"


def test_replica_region_follows_a_region_known_only_from_the_profile() -> None:
    """A us-west-2 profile without LAB_REGION: lab 06's replica must be elsewhere."""
    config = load_config({"LAB_BACKEND": "aws", "LAB_PREFIX": "ann-"})
    resolved = config.with_region("us-west-2")
    assert resolved.region == "us-west-2"
    assert resolved.replica_region not in ("", "us-west-2")


def test_replica_region_equal_to_the_profile_region_is_refused() -> None:
    config = load_config(
        {"LAB_BACKEND": "aws", "LAB_PREFIX": "ann-", "LAB_REPLICA_REGION": "eu-west-1"}
    )
    with pytest.raises(ConfigError, match="other than"):
        config.with_region("eu-west-1")


def test_aws_region_falls_back_to_aws_region_variable() -> None:
    config = load_config({"LAB_BACKEND": "aws", "AWS_REGION": "ap-southeast-2"})
    assert config.region == "ap-southeast-2"


def test_explicit_empty_prefix_is_kept_on_aws() -> None:
    config = load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "LAB_PREFIX": ""})
    assert config.prefix == ""
