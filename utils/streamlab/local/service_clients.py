"""boto3 clients for the emulator's own calls into itself (pollers' Invoke, SQS, SNS; destinations).

They carry the Lambda service's identity, not a notebook's: on AWS these calls
are made by the Lambda service, so the emulator's action log must not count
them as the participant's. They sign with the ``service`` keys the emulator
issued (it verifies its own calls like any other) and the endpoint is the
emulator's loopback address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.config

from streamlab.aws.session import local_session

from .identities import issued

Endpoint = str | Callable[[], str]


def resolve(endpoint: Endpoint) -> str:
    """The emulator's URL (given late: the port is known only once the server listens)."""
    return endpoint() if callable(endpoint) else endpoint


def service_client(
    service: str, region: str, endpoint: Endpoint, config: botocore.config.Config
) -> Any:
    session = local_session(region, issued().service)
    return session.client(service, endpoint_url=resolve(endpoint), config=config)
