"""What the emulator shares to stay small and quick is shared without changing an answer.

The dispatcher looks each Host's moto backend up once; botocore's models are
parsed once per process, for moto's region lists and the emulator's own
clients alike.
"""

from __future__ import annotations

import botocore.config
from moto.core.base_backend import AccountSpecificBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from streamlab.local import botocore_models, service_clients
from streamlab.local.app import _Dispatcher

HOSTS = [
    None,
    "moto_api",
    "dynamodb",
    "dynamodb.us-east-1.amazonaws.com",
    "streams.dynamodb.eu-west-1.amazonaws.com",
    "lambda.us-east-1.amazonaws.com",
    "sqs.eu-west-1.amazonaws.com",
    "logs.us-east-1.amazonaws.com",
    "127.0.0.1:4566",
]


def test_the_dispatcher_answers_each_host_as_moto_does_every_time() -> None:
    ours = _Dispatcher(create_backend_app)
    moto = DomainDispatcherApplication(create_backend_app)
    expected = [moto.get_backend_for_host(host) for host in HOSTS]
    assert [ours.get_backend_for_host(host) for host in HOSTS] == expected
    assert [ours.get_backend_for_host(host) for host in HOSTS] == expected  # remembered
    assert "awslambda" in expected and "dynamodbstreams" in expected


def test_moto_and_the_emulator_clients_read_one_loader(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(AccountSpecificBackend, "get_session", AccountSpecificBackend.get_session)
    monkeypatch.setattr(service_clients, "_sessions", {})
    botocore_models.share_with_moto()
    loader = botocore_models.shared_loader()
    moto_session = AccountSpecificBackend.get_session()
    assert moto_session._session.get_component("data_loader") is loader
    assert "us-east-1" in moto_session.get_available_regions("dynamodb")
    config = botocore.config.Config(retries={"max_attempts": 1})
    nowhere = "http://127.0.0.1:1"
    lambda_client = service_clients.service_client("lambda", "us-east-1", nowhere, config)
    sqs_client = service_clients.service_client("sqs", "eu-west-1", nowhere, config)
    assert lambda_client.meta.region_name == "us-east-1"
    assert sqs_client.meta.region_name == "eu-west-1"
    assert len(service_clients._sessions) == 1  # one session for all the emulator's clients
    session = next(iter(service_clients._sessions.values()))
    assert session._session.get_component("data_loader") is loader
