"""A ``Lab`` on the aws backend whose clients are botocore Stubbers: AWS's answers, no network.

For behaviour only a real account shows (IAM propagation, tables still
DELETING, mappings that stay ``Deleting``, throttling), the test scripts AWS's
documented answers; a call the script does not expect fails the test.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.config
from botocore.stub import Stubber

from streamlab.aws.session import Lab
from streamlab.config import load_config

_ONE_ATTEMPT = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
ACCOUNT = "111122223333"
REGION = "eu-west-1"


class StubbedLab(Lab):
    """``client(service, region)`` hands out one stubbed client per service and region."""

    def __init__(self, prefix: str = "alice-", **environ: str) -> None:
        config = load_config(
            {"LAB_BACKEND": "aws", "LAB_REGION": REGION, "LAB_PREFIX": prefix, **environ}
        )
        session = boto3.Session(
            aws_access_key_id="AKIAEXAMPLEEXAMPLE12",
            aws_secret_access_key="example",
            region_name=REGION,
        )
        super().__init__(config, session)
        self._clients: dict[tuple[str, str], Any] = {}
        self.stubs: dict[tuple[str, str], Stubber] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            # One attempt: each scripted answer reaches the kit (botocore's own retries are
            # tested by configuration in test_session; here the kit's waits are under test).
            client = self.session.client(service, region_name=key[1], config=_ONE_ATTEMPT)
            stub = Stubber(client)
            stub.activate()
            self._clients[key], self.stubs[key] = client, stub
        return self._clients[key]

    def stub(self, service: str, region: str | None = None) -> Stubber:
        self.client(service, region)
        return self.stubs[(service, region or self.region)]

    @property
    def account_id(self) -> str:  # type: ignore[override]
        return ACCOUNT

    def assert_all_answered(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


class FakeClock:
    """A clock that only moves when the code under test sleeps (no test waits for real)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def use_fake_time(monkeypatch: Any) -> tuple[FakeClock, list[str]]:
    """Every ``Wait`` of the kit sleeps on a fake clock and prints into the returned list."""
    from streamlab.aws import waiting

    clock, lines = FakeClock(), []
    monkeypatch.setattr(waiting, "_now", clock)
    monkeypatch.setattr(waiting, "_pause", clock.sleep)
    monkeypatch.setattr(waiting, "_say", lines.append)
    return clock, lines
