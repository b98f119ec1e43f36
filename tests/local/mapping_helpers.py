"""Building blocks for stream mapping tests: a stream table, a role, a function."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamlab.aws.roles import trust_policy
from streamlab.aws.session import Lab
from streamlab.local.pollers.invoker import InvokeResult
from streamlab.local.pollers.permissions import STREAM_ACTIONS as POLLER_STREAM_ACTIONS

STREAM_ACTIONS = list(POLLER_STREAM_ACTIONS)
TRUST = trust_policy()
NOOP_HANDLER = "def handler(event, context):\n    return None\n"


def unique(lab: Lab, base: str) -> str:
    return lab.name(f"{base}{time.monotonic_ns() % 10**9}")


def keyed_table(lab: Lab, name: str, *, region: str | None = None, **settings: Any) -> Any:
    """Create a pay-per-request table keyed by the string ``id`` (``settings``: more
    CreateTable arguments); return the DynamoDB client that made it."""
    client = lab.client("dynamodb", region=region) if region else lab.dynamodb
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        **settings,
    )
    return client


def stream_table(
    lab: Lab, name: str, *, region: str | None = None, view: str = "NEW_AND_OLD_IMAGES"
) -> str:
    """Create a table with a stream; return the stream's ARN."""
    streams = {"StreamEnabled": True, "StreamViewType": view}
    client = keyed_table(lab, name, region=region, StreamSpecification=streams)
    return client.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def role(lab: Lab, name: str, actions: list[str] | None = None) -> str:
    """A Lambda execution role allowed ``actions`` (default: read streams, SQS, SNS)."""
    allowed = STREAM_ACTIONS + ["sqs:SendMessage", "sns:Publish"] if actions is None else actions
    arn = lab.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    if allowed:
        lab.iam.put_role_policy(
            RoleName=name,
            PolicyName="streams",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}],
                }
            ),
        )
    return arn


def function(
    lab: Lab,
    name: str,
    role_arn: str,
    code: str = NOOP_HANDLER,
    *,
    region: str | None = None,
    timeout: int = 30,
) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", code)
    client = lab.client("lambda", region=region) if region else lab.lambda_
    return client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role_arn,
        Handler="handler.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=timeout,
    )["FunctionArn"]


def wait_for(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def mapping_state(lab: Lab, uuid: str, region: str | None = None) -> str:
    client = lab.client("lambda", region=region) if region else lab.lambda_
    return client.get_event_source_mapping(UUID=uuid)["State"]


class Recorder:
    """The function, as the pollers see it: records events, answers from ``respond``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.respond: Callable[[str, dict[str, Any]], InvokeResult] = lambda arn, event: (
            InvokeResult()
        )

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvokeResult:
        with self.lock:
            self.events.append((function_arn, event))
        return self.respond(function_arn, event)

    def records(self, function_arn: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                r
                for arn, e in self.events
                if function_arn in (None, arn)
                for r in e.get("Records", [])
            ]


@dataclass
class InProcess:
    lab: Lab
    recorder: Recorder
    app: Any
