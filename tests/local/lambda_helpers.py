"""Helpers for the local Lambda runtime's tests: deploy from source text, invoke, read logs.

Plain functions over boto3, so each test still reads as the AWS calls it makes.
``private_emulator`` starts a second emulator with its own settings, for the
few behaviours that need one (slow states, idle reaping, a killed emulator,
another worker).
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.config

from streamlab.aws.roles import trust_policy
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.local import control
from streamlab.local.control import free_port

ROLE_NAME = "streamlab-test-lambda-role"
TRUST_POLICY = json.dumps(trust_policy())


def zip_source(files: str | dict[str, str]) -> bytes:
    """A deployment package: one ``lambda_function.py`` or several named files."""
    if isinstance(files, str):
        files = {"lambda_function.py": files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def role_arn(lab: Lab) -> str:
    try:
        return lab.iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    except lab.iam.exceptions.NoSuchEntityException:
        return lab.iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=TRUST_POLICY)[
            "Role"
        ]["Arn"]


def unique(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def deploy(
    lab: Lab,
    source: str | dict[str, str],
    *,
    name: str | None = None,
    handler: str = "lambda_function.handler",
    runtime: str = "python3.12",
    **settings: Any,
) -> str:
    """Create a function from source text; return its name."""
    name = name or unique("rt")
    lab.lambda_.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role_arn(lab),
        Handler=handler,
        Code={"ZipFile": zip_source(source)},
        **settings,
    )
    return name


def invoke(lab: Lab, name: str, event: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Invoke and read the payload; ``result["body"]`` is the parsed JSON (or None)."""
    payload = b"" if event is None else json.dumps(event).encode()
    response = lab.lambda_.invoke(FunctionName=name, Payload=payload, **kwargs)
    raw = response["Payload"].read()
    response["raw"] = raw
    response["body"] = json.loads(raw) if raw else None
    if "LogResult" in response:
        response["log"] = base64.b64decode(response["LogResult"]).decode()
    return response


def lambda_without_retries(lab: Lab) -> Any:
    """A Lambda client that surfaces throttling at once instead of retrying it."""
    return lab.session.client(
        "lambda",
        region_name=lab.region,
        endpoint_url=lab.endpoint,
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def log_messages(lab: Lab, name: str) -> list[str]:
    """Every message of the function's log group, in order."""
    messages: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{name}"}
    while True:
        page = lab.logs.filter_log_events(**kwargs)
        messages.extend(event["message"] for event in page["events"])
        if not page.get("nextToken"):
            return messages
        kwargs["nextToken"] = page["nextToken"]


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@contextmanager
def private_emulator(state_dir: Path, **environment: str) -> Iterator[Lab]:
    """A second emulator started with extra environment variables, stopped afterwards.

    ``state_dir`` (the session fixture) keeps its pid, log and code files out of
    the learner's ``~/.streamlab``.
    """
    port = free_port()
    environment = {**environment, "LAB_STATE_DIR": str(state_dir)}
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        control.start(port)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
            start_emulator=False,
        )
    finally:
        control.stop(port)
