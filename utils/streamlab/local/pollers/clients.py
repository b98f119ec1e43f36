"""boto3 clients for the pollers' own calls into the emulator (Invoke, SQS, SNS).

They carry the emulator's service identity, not a notebook's: on AWS these
calls are made by the Lambda service, so the emulator's action log must not
count them as the participant's. Credentials are dummies, the endpoint is the
emulator's loopback address, and no profile or environment setting is read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
import botocore.config
import botocore.session

# The Lambda service's own dummy key (the emulator tells callers apart by key).
SERVICE_ACCESS_KEY = "LAMBDASERVICEPRINCIPAL"
DUMMY_SECRET_KEY = "testing"

Endpoint = str | Callable[[], str]


def resolve(endpoint: Endpoint) -> str:
    """The emulator's URL (given late: the port is known only once the server listens)."""
    return endpoint() if callable(endpoint) else endpoint


def service_client(
    service: str, region: str, endpoint: Endpoint, config: botocore.config.Config
) -> Any:
    isolated = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    session = boto3.Session(
        aws_access_key_id=SERVICE_ACCESS_KEY,
        aws_secret_access_key=DUMMY_SECRET_KEY,
        region_name=region,
        botocore_session=isolated,
    )
    return session.client(service, endpoint_url=resolve(endpoint), config=config)
