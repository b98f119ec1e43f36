"""What the emulator shares to stay small and quick is shared without changing an answer.

The dispatcher looks each Host's moto backend up once; botocore's models are
parsed once per process, for moto's region lists and the emulator's own
clients alike, and compactly: without documentation (and without the FIPS
and dual-stack endpoint variants), which changes no region list, endpoint or
model shape the emulator reads.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import botocore.config
import botocore.exceptions
import botocore.session
import moto.core.utils
import pytest
from botocore.loaders import Loader, create_loader
from botocore.regions import EndpointResolver
from mapping_helpers import InProcess
from moto.core.base_backend import AccountSpecificBackend
from moto.core.loaders import Loader as MotoLoader
from moto.core.loaders import moto_root
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from streamlab.local import botocore_models, service_clients
from streamlab.local.app import _Dispatcher
from streamlab.local.compact_models import DOCUMENTATION_KEYS, CompactJSONFileLoader

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


# --------------------------------------------------------------------------- compact models

# Every service the kit's labs, checks and emulator call (moto's backends list regions for each).
KIT_SERVICES = (
    "dynamodb", "dynamodbstreams", "lambda", "logs", "iam", "sts", "sqs", "sns", "s3",
)


def _without(data: object, drop: Callable[[str, object], bool]) -> object:
    """``data`` with every key ``drop`` says to leave out, at any depth."""
    if isinstance(data, dict):
        return {k: _without(v, drop) for k, v in data.items() if not drop(k, v)}
    if isinstance(data, list):
        return [_without(v, drop) for v in data]
    return data


def _compact_loader() -> Loader:
    """A new loader as the shared one (which botocore writes into: see ``_endpoint``)."""
    return Loader(file_loader=CompactJSONFileLoader(drop_endpoint_variants=True))


def _documentation(key: str, value: object) -> bool:
    return key in DOCUMENTATION_KEYS and isinstance(value, str)


def _documentation_or_variants(key: str, value: object) -> bool:
    return _documentation(key, value) or key == "variants"


@pytest.mark.parametrize("service", KIT_SERVICES)
def test_a_compact_model_is_botocores_without_its_documentation(service: str) -> None:
    pristine = create_loader().load_service_model(service, "service-2")
    compact = _compact_loader().load_service_model(service, "service-2")
    assert compact == _without(pristine, _documentation)
    assert "documentation" in json.dumps(pristine)  # there was some to leave out
    assert type(compact) is dict and type(compact["shapes"]) is dict


def test_compact_endpoints_are_botocores_without_documentation_and_variants() -> None:
    pristine = create_loader().load_data("endpoints")
    compact = _compact_loader().load_data("endpoints")
    assert compact == _without(pristine, _documentation_or_variants)
    assert "variants" in json.dumps(pristine)


def test_the_templates_compact_endpoints_keep_fips_and_dual_stack_variants() -> None:
    """Functions may ask for FIPS or dual-stack endpoints: the worker template keeps them."""
    pristine = create_loader().load_data("endpoints")
    compact = Loader(file_loader=CompactJSONFileLoader()).load_data("endpoints")
    assert compact == _without(pristine, _documentation)
    assert "variants" in json.dumps(compact)


@pytest.mark.parametrize("service", KIT_SERVICES)
def test_region_lists_are_botocores_on_every_partition(service: str) -> None:
    pristine = botocore.session.Session()
    compact = botocore_models.use_shared_loader(botocore.session.Session())
    partitions = pristine.get_available_partitions()
    assert compact.get_available_partitions() == partitions
    for partition in partitions:
        for non_regional in (False, True):
            assert compact.get_available_regions(
                service, partition, allow_non_regional=non_regional
            ) == pristine.get_available_regions(
                service, partition, allow_non_regional=non_regional
            ), (service, partition, non_regional)


def _endpoint(resolver: EndpointResolver, service: str, region: str) -> dict | None:
    found = resolver.construct_endpoint(service, region)  # botocore writes into its data:
    return None if found is None else _without(copy.deepcopy(found), _documentation_or_variants)


@pytest.mark.parametrize("service", KIT_SERVICES)
def test_endpoints_resolve_as_botocores_for_every_region(service: str) -> None:
    """What a client without FIPS or dual-stack reads: hostname, scope, signature versions."""
    pristine = EndpointResolver(create_loader().load_data("endpoints"))
    compact = EndpointResolver(_compact_loader().load_data("endpoints"))
    regions = {
        region
        for partition in pristine.get_available_partitions()
        for region in pristine.get_available_endpoints(service, partition, True)
    } | {"us-east-1", "us-west-2", "eu-west-1", "cn-north-1", "us-gov-west-1"}
    for region in sorted(regions):
        assert _endpoint(compact, service, region) == _endpoint(pristine, service, region), region


def test_moto_reads_its_models_compactly_with_its_extras() -> None:
    botocore_models.share_with_moto()
    assert moto.core.utils.create_loader is botocore_models.moto_loader
    sqs = botocore_models.moto_loader().load_service_model("sqs", "service-2")
    assert sqs["metadata"]["protocols"] == ["json", "query"]  # moto's extras, merged
    assert "documentation" not in json.dumps(sqs)
    pristine = MotoLoader(extra_search_paths=[moto_root]).load_service_model("sqs", "service-2")
    assert sqs == _without(pristine, _documentation)


def _error(call: Callable[[], object]) -> tuple[str, str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def test_errors_keep_their_code_status_and_message_with_compact_models(
    inprocess_emulator: InProcess,
) -> None:
    """moto finds an error's shape (code, status, fields) in its service model; the
    answers are those moto gave with botocore's full models (IAM's wording is moto's)."""
    lab = inprocess_emulator.lab
    assert _error(lambda: lab.dynamodb.describe_table(TableName="NoSuchTable")) == (
        "ResourceNotFoundException", "Requested resource not found: Table: NoSuchTable not found",
        400,
    )
    code, message, status = _error(lambda: lab.lambda_.get_function(FunctionName="nothing"))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message.startswith("Function not found: arn:aws:lambda:")
    assert _error(lambda: lab.iam.get_role(RoleName="nobody")) == (
        "NoSuchEntity", "Role nobody not found", 404,
    )
    assert _error(lambda: lab.sqs.get_queue_url(QueueName="nothing")) == (
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
        400,
    )
    assert _error(lambda: lab.logs.get_log_events(logGroupName="/none", logStreamName="x")) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400,
    )


def test_moto_reads_the_shared_model_unless_it_adds_extras() -> None:
    botocore_models.share_with_moto()
    shared = botocore_models.shared_loader()
    for service in ("dynamodb", "dynamodbstreams", "lambda", "logs", "iam", "sns"):
        moto_model = moto.core.utils._load_service_model(service, "service-2")
        assert moto_model is shared.load_service_model(service, "service-2"), service
    moto_sqs = moto.core.utils._load_service_model("sqs", "service-2")
    shared_sqs = shared.load_service_model("sqs", "service-2")
    assert moto_sqs is not shared_sqs  # moto's extras go into its own copy ...
    assert moto_sqs["metadata"]["protocols"] == ["json", "query"]
    assert shared_sqs == _compact_loader().load_service_model("sqs", "service-2")  # ... only
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        moto.core.utils._load_service_model("no-such-service", "service-2")
