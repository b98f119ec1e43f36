"""boto3 clients for the emulator's own calls into itself (pollers' Invoke, SQS, SNS; destinations).

They carry the Lambda service's identity, not a notebook's: on AWS these calls
are made by the Lambda service, so the emulator's action log must not count
them as the participant's. They sign with the ``service`` keys the emulator
issued (it verifies its own calls like any other) and the endpoint is the
emulator's loopback address.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.config

from streamlab.aws.session import isolated_botocore_session, local_session

from .botocore_models import use_shared_loader
from .identities import KeyPair, issued

Endpoint = str | Callable[[], str]


def resolve(endpoint: Endpoint) -> str:
    """The emulator's URL (given late: the port is known only once the server listens)."""
    return endpoint() if callable(endpoint) else endpoint


_lock = threading.Lock()
_sessions: dict[KeyPair, boto3.Session] = {}


def _session(keys: KeyPair, region: str) -> boto3.Session:
    """One session per set of keys for all the emulator's clients (lock held).

    A session per client would parse botocore's models again for each: the
    pollers' Lambda client per region and the destinations' SQS and SNS
    clients each held their own ~10 MiB of them.
    """
    session = _sessions.get(keys)
    if session is None:
        botocore_session = use_shared_loader(isolated_botocore_session())
        session = _sessions[keys] = local_session(region, keys, botocore_session)
    return session


def service_client(
    service: str, region: str, endpoint: Endpoint, config: botocore.config.Config
) -> Any:
    keys = issued().service
    with _lock:  # a session's client creation is not thread-safe
        return _session(keys, region).client(
            service, region_name=region, endpoint_url=resolve(endpoint), config=config
        )
