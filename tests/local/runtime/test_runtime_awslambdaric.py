"""AWS's own runtime interface client works as the worker (LAB_LAMBDA_WORKER=awslambdaric)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_helpers import deploy, invoke, log_messages, private_emulator

from streamlab.aws.session import Lab

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("awslambdaric") is None,
    reason="awslambdaric is not installed: AWS publishes Linux wheels only (dev extra on Linux)",
)

SOURCE = """
import logging, os, sys
import boto3
logging.getLogger().setLevel(logging.INFO)
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    logging.info("event %s", event)
    if event.get("fail"):
        raise ValueError("bad input")
    boto3.client("sqs").list_queues()
    return {"count": COUNT, "function": context.function_name, "worker": sorted(
        name for name in sys.modules if name.startswith("awslambdaric.bootstrap")
    )}
"""


@pytest.fixture(scope="module")
def ric_lab(state_dir: Path) -> Iterator[Lab]:
    with private_emulator(state_dir, LAB_LAMBDA_WORKER="awslambdaric") as lab:
        yield lab


def test_awslambdaric_runs_the_handler_warm(ric_lab: Lab) -> None:
    name = deploy(ric_lab, SOURCE)
    first = invoke(ric_lab, name, {"n": 1}, LogType="Tail")
    second = invoke(ric_lab, name, {"n": 2})
    worker = ["awslambdaric.bootstrap"]  # AWS's client, not ours, ran the handler
    assert first["body"] == {"count": 1, "function": name, "worker": worker}
    assert second["body"] == {"count": 2, "function": name, "worker": worker}
    assert "Init Duration" in first["log"]
    request_id = first["ResponseMetadata"]["RequestId"]
    assert re.search(rf"\[INFO\]\t\S+Z\t{request_id}\tevent {{'n': 1}}\n", first["log"])


def test_awslambdaric_errors_have_the_same_shape(ric_lab: Lab) -> None:
    name = deploy(ric_lab, SOURCE)
    response = invoke(ric_lab, name, {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    body = response["body"]
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "bad input")
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert len(body["stackTrace"]) == 1
    errors = [m for m in log_messages(ric_lab, name) if m.startswith("[ERROR]")]
    assert errors and errors[0].startswith("[ERROR] ValueError: bad input\rTraceback")


def test_awslambdaric_keeps_imports_as_on_aws(ric_lab: Lab) -> None:
    name = deploy(ric_lab, "import moto\ndef handler(event, context):\n    return 1\n")
    body = invoke(ric_lab, name)["body"]
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert (
        body["errorMessage"] == "Unable to import module 'lambda_function': No module named 'moto'"
    )
