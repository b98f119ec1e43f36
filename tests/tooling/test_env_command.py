"""`streamlab env`: after eval "$(streamlab env)" the AWS CLI and any SDK reach the emulator."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from streamlab.local.identities import issued

# A shell as a learner has it: real AWS settings that must never be used locally.
REAL_SHELL = {
    "AWS_ACCESS_KEY_ID": "AKIAREALREALREAL1234",
    "AWS_SECRET_ACCESS_KEY": "real-secret",
    "AWS_SESSION_TOKEN": "real-token",
    "AWS_PROFILE": "production",
}


def _in_shell(emulator: str, command: str) -> subprocess.CompletedProcess:
    streamlab = f"{shlex.quote(sys.executable)} -m streamlab env"
    return subprocess.run(
        ["bash", "-c", f'set -e; eval "$({streamlab})"; {command}'],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **REAL_SHELL, "LAB_ENDPOINT": emulator},
    )


EXPORTED = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def test_env_prints_the_issued_notebook_keys_and_the_endpoint(emulator: str) -> None:
    result = _in_shell(emulator, "env | grep '^AWS_' | sort")
    assert result.returncode == 0, result.stderr
    variables = dict(line.split("=", 1) for line in result.stdout.split())
    keys = issued().notebook
    assert "AWS_SESSION_TOKEN" not in variables and "AWS_PROFILE" not in variables
    assert {name: variables.get(name) for name in EXPORTED} == {
        "AWS_ACCESS_KEY_ID": keys.access_key,
        "AWS_SECRET_ACCESS_KEY": keys.secret_key,
        "AWS_ENDPOINT_URL": emulator,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_an_sdk_configured_only_by_the_environment_works(emulator: str) -> None:
    script = (
        "import boto3; s = boto3.client('sts').get_caller_identity(); "
        "print(s['Account'], boto3.client('dynamodb').list_tables()['TableNames'] is not None)"
    )
    result = _in_shell(emulator, f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["123456789012", "True"]


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI (aws) is not installed")
def test_the_aws_cli_works(emulator: str) -> None:
    table = "CliTable"
    result = _in_shell(
        emulator,
        f"aws dynamodb create-table --table-name {table} --billing-mode PAY_PER_REQUEST "
        "--key-schema AttributeName=k,KeyType=HASH "
        "--attribute-definitions AttributeName=k,AttributeType=S > /dev/null; "
        "aws iam list-roles > /dev/null; aws lambda list-functions > /dev/null; "
        "aws dynamodb list-tables --output json",
    )
    assert result.returncode == 0, result.stderr
    assert table in json.loads(result.stdout)["TableNames"]
    cleanup = _in_shell(emulator, f"aws dynamodb delete-table --table-name {table} > /dev/null")
    assert cleanup.returncode == 0, cleanup.stderr
