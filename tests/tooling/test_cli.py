"""The streamlab command: expected failures are one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_backend_typo_is_one_line_listing_the_choices() -> None:
    result = _run("status", LAB_BACKEND="lcoal")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: LAB_BACKEND='lcoal' is not a backend: choose one of local, aws "
        "(local is the default)."
    ]


def test_help_lists_every_command() -> None:
    result = _run("--help")
    for command in ("serve", "start", "stop", "status", "lab", "doctor"):
        assert command in result.stdout


def test_doctor_passes_on_the_local_backend(emulator: str) -> None:
    result = _run("doctor", LAB_ENDPOINT=emulator, LAB_BACKEND="local")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("PASS") for line in lines[:-1]), lines
    names = [line.split(":")[0].split()[-1] for line in lines[:-1]]
    assert {"python", "boto3", "moto", "emulator", "identity"} <= set(names)
    assert lines[-1] == "all checks passed"


def test_doctor_fails_with_the_fix_when_aws_has_no_credentials(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        LAB_BACKEND="aws",
        LAB_REGION="eu-west-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "c"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "k"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "streamlab", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1
    assert "FAIL  credentials:" in result.stdout and "aws configure" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_cleanup_dry_run_lists_and_keeps_then_cleanup_deletes(emulator: str) -> None:
    env = {"LAB_ENDPOINT": emulator, "LAB_BACKEND": "local", "LAB_PREFIX": "clitest-"}
    create = (
        "import streamlab; lab = streamlab.connect(); "
        "lab.sqs.create_queue(QueueName=lab.name('failures'))"
    )
    subprocess.run([sys.executable, "-c", create], check=True, env={**os.environ, **env})
    dry = _run("cleanup", "--dry-run", **env)
    assert dry.returncode == 0, dry.stderr
    assert "would delete queue" in dry.stdout and "clitest-failures" in dry.stdout
    assert "dry run: 1 resource(s) would be deleted" in dry.stdout
    real = _run("cleanup", **env)
    assert real.returncode == 0, real.stdout + real.stderr
    assert "nothing is left under the prefix" in real.stdout
    again = _run("cleanup", "--dry-run", **env)
    assert "dry run: 0 resource(s)" in again.stdout


def test_doctor_on_aws_prints_the_prefix_and_its_source_and_passes_nothing_unchecked(
    emulator: str, tmp_path
) -> None:
    """LAB_BACKEND=aws against this test's private emulator as the AWS endpoint."""
    from streamlab.local.identities import DUMMY_SECRET_KEY, NOTEBOOK_ACCESS_KEY

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAB_PREFIX", "JUPYTERHUB_USER"))
    }
    env.update(
        LAB_BACKEND="aws",
        LAB_REGION="eu-west-1",
        AWS_ENDPOINT_URL=emulator,
        AWS_ACCESS_KEY_ID=NOTEBOOK_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=DUMMY_SECRET_KEY,
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "streamlab", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    lines = result.stdout.splitlines()
    [prefix] = [line for line in lines if " prefix: " in line]
    assert prefix.startswith("PASS") and "from STS caller identity" in prefix, lines
    assert any(line.startswith("PASS  regions: lab eu-west-1, replica us-west-2") for line in lines)
    assert not any(line.startswith("PASS") and "not checked" in line for line in lines), lines
    assert result.returncode in (0, 1, 2) and "Traceback" not in result.stderr
