"""LAB_* variables: defaults, validation, and one-line errors that list the fix."""

from __future__ import annotations

import pytest

from streamlab.config import DEFAULT_ENDPOINT, default_aws_prefix, load_config
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


def test_aws_prefix_defaults_to_user_name() -> None:
    config = load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1"})
    assert config.prefix == default_aws_prefix()
    assert default_aws_prefix("J.Doe") == "jdoe-"


def test_aws_region_falls_back_to_aws_region_variable() -> None:
    config = load_config({"LAB_BACKEND": "aws", "AWS_REGION": "ap-southeast-2"})
    assert config.region == "ap-southeast-2"


def test_explicit_empty_prefix_is_kept_on_aws() -> None:
    config = load_config({"LAB_BACKEND": "aws", "LAB_REGION": "eu-west-1", "LAB_PREFIX": ""})
    assert config.prefix == ""
