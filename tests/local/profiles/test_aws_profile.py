"""The aws profile met through boto3: AWS's delays, consistency and quotas, scaled in time.

One emulator for the module, started as a learner or CI would start it
(``streamlab start --profile aws --time-scale 0.05 --seed 1``) on a private
port and state folder. At that scale AWS's 5-15 s role propagation lasts
0.25-0.75 s, a mapping is Creating for 1-3 s, and so on; every wait below is
bounded, and no assertion is about how long something took, only about what
AWS's documented order of events makes visible.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import botocore.config
import pytest
from botocore.exceptions import ClientError
from lambda_helpers import TRUST_POLICY, wait_for, zip_source

from streamlab.aws.session import Lab
from streamlab.local import control
from streamlab.local.health import probe
from streamlab.local.pollers.permissions import STREAM_ACTIONS

TIME_SCALE = 0.05
NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
WAITER = {"Delay": 1, "MaxAttempts": 30}
PRINTER = (
    "import json\n"
    "def handler(event, context):\n"
    "    for record in event.get('Records', []):\n"
    "        print('KEY', record['dynamodb']['Keys']['pk']['S'])\n"
    "    return 'ok'\n"
)
SLEEPER = "import time\ndef handler(event, context):\n    time.sleep(2)\n    return 'slept'\n"


def _client(lab: Lab, service: str) -> Any:
    """A client that shows throttling at once instead of retrying it."""
    return lab.session.client(
        service, region_name=lab.region, endpoint_url=lab.endpoint, config=NO_RETRIES
    )


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def _name(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def _new_role(lab: Lab, policy: dict | None = None) -> str:
    name = _name("prof-role")
    arn = lab.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]
    if policy is not None:
        lab.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn


def _create_function(lab: Lab, role: str, source: str = PRINTER, **extra: Any) -> str:
    """CreateFunction, retried while the role propagates (as the kit does on AWS)."""
    name = _name("prof-fn")

    def attempt() -> bool:
        try:
            lab.lambda_.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="lambda_function.handler",
                Code={"ZipFile": zip_source(source)},
                **extra,
            )
            return True
        except ClientError as error:
            if _code(error) != "InvalidParameterValueException":
                raise
            return False

    wait_for(attempt, timeout=30, interval=0.1)
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER)
    return name


def _table(lab: Lab, stream: bool = False) -> str:
    name = _name("prof-tbl")
    spec: dict[str, Any] = {}
    if stream:
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    lab.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **spec,
    )
    lab.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAITER)
    return name


def _messages(lab: Lab, function: str) -> list[str]:
    """Every readable event of the function's log, following tokens through empty pages."""
    logs = _client(lab, "logs")
    messages: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function}"}
    for _ in range(100):
        try:
            page = logs.filter_log_events(**kwargs)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return []
            assert _code(error) == "ThrottlingException"
            time.sleep(0.25)
            continue
        messages.extend(event["message"] for event in page["events"])
        if not page.get("nextToken"):
            return messages
        kwargs["nextToken"] = page["nextToken"]
        time.sleep(0.2)  # stay under FilterLogEvents' 5 calls per second
    raise AssertionError("FilterLogEvents kept answering tokens")


def test_health_reports_the_profile(aws: Lab) -> None:
    profile = probe(aws.endpoint).info["profile"]
    assert profile == {"name": "aws", "time_scale": TIME_SCALE, "seed": 1}
    port = int(aws.endpoint.rsplit(":", 1)[1])
    assert "(profile aws, time scale 0.05, seed 1)" in control.status(port).message


def test_starting_another_profile_on_a_running_emulator_is_refused(aws: Lab) -> None:
    from streamlab.errors import EmulatorError
    from streamlab.local.profiles import ProfileOptions

    port = int(aws.endpoint.rsplit(":", 1)[1])
    with pytest.raises(EmulatorError, match="runs the aws profile"):
        control.start(port, ProfileOptions("local"))


def test_a_new_role_cannot_be_assumed_by_lambda_until_it_propagates(aws: Lab) -> None:
    code = {"ZipFile": zip_source(PRINTER)}  # ready before the role exists: no gap to fill
    refused = None
    for _ in range(5):  # a busy machine can outlast the (scaled) propagation window once
        role = _new_role(aws)
        try:
            aws.lambda_.create_function(
                FunctionName=_name("prof-fn"),
                Runtime="python3.12",
                Role=role,
                Handler="lambda_function.handler",
                Code=code,
            )
        except ClientError as exc:
            refused = exc
            break
    assert refused is not None, "CreateFunction right after CreateRole was never refused"
    assert _code(refused) == "InvalidParameterValueException"
    assert refused.response["Error"]["Message"] == (
        "The role defined for the function cannot be assumed by Lambda."
    )
    assert _create_function(aws, role)  # the same role, once propagated


def test_a_function_is_pending_then_active_and_updates_take_time(aws: Lab) -> None:
    role = _new_role(aws)
    wait_for(lambda: _create_function(aws, _new_role(aws)), timeout=30)  # roles propagate
    name = _name("prof-fn")
    wait_for(lambda: not aws.iam.get_role(RoleName=role.rsplit("/", 1)[1]) or True)
    # Made before the function: Pending lasts 50-250 ms at this time scale, less than a
    # client takes to build on a busy machine.
    client = _client(aws, "lambda")
    for _ in range(300):  # create as soon as the role is assumable, to meet Pending
        try:
            created = aws.lambda_.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="lambda_function.handler",
                Code={"ZipFile": zip_source(PRINTER)},
            )
            break
        except ClientError as error:
            assert _code(error) == "InvalidParameterValueException"
            time.sleep(0.05)
    assert created["State"] == "Pending"
    with pytest.raises(ClientError) as refused:
        client.invoke(FunctionName=name, Payload=b"{}")
    assert _code(refused.value) == "ResourceConflictException"
    assert "currently in the following state: Pending" in str(refused.value)
    aws.lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER)
    assert client.invoke(FunctionName=name, Payload=b"{}")["StatusCode"] == 200

    updated = client.update_function_configuration(FunctionName=name, Timeout=5)
    assert updated["LastUpdateStatus"] == "InProgress"
    with pytest.raises(ClientError) as conflict:
        client.update_function_configuration(FunctionName=name, Timeout=6)
    assert _code(conflict.value) == "ResourceConflictException"
    assert "An update is in progress for resource: arn:aws:lambda:" in str(conflict.value)
    aws.lambda_.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER)
    client.update_function_configuration(FunctionName=name, Timeout=6)


def test_a_table_is_creating_then_active_and_deleting_then_gone(aws: Lab) -> None:
    name = _name("prof-tbl")
    created = aws.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert created["TableDescription"]["TableStatus"] == "CREATING"
    assert aws.dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "CREATING"
    with pytest.raises(ClientError) as early:
        _client(aws, "dynamodb").put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert _code(early.value) == "ResourceNotFoundException"
    aws.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAITER)
    aws.dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})

    deleted = aws.dynamodb.delete_table(TableName=name)
    assert deleted["TableDescription"]["TableStatus"] == "DELETING"
    assert aws.dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "DELETING"
    aws.dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAITER)
    with pytest.raises(ClientError) as gone:
        aws.dynamodb.describe_table(TableName=name)
    assert _code(gone.value) == "ResourceNotFoundException"


def _enabling_the_stream_again_is_refused_with_aws_wording(lab: Lab) -> None:
    name = _table(lab, stream=True)
    wait_for(
        lambda: lab.dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    )
    with pytest.raises(ClientError) as refused:
        lab.dynamodb.update_table(
            TableName=name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    assert _code(refused.value) == "ValidationException"
    assert refused.value.response["Error"]["Message"] == (
        f"Table already has an enabled stream: TableName: {name}"
    )


def test_enabling_an_enabled_stream_is_a_validation_error(aws: Lab) -> None:
    _enabling_the_stream_again_is_refused_with_aws_wording(aws)


def test_enabling_an_enabled_stream_is_a_validation_error_in_the_local_profile(lab: Lab) -> None:
    _enabling_the_stream_again_is_refused_with_aws_wording(lab)


def test_describe_stream_is_limited_to_ten_calls_per_second(aws: Lab) -> None:
    table = _table(aws, stream=True)
    arn = aws.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = _client(aws, "dynamodbstreams")
    codes = []
    began = time.monotonic()
    for _ in range(15):
        try:
            streams.describe_stream(StreamArn=arn)
            codes.append("ok")
        except ClientError as error:
            codes.append(_code(error))
    assert codes.count("ok") <= 10, (codes, time.monotonic() - began)
    assert "LimitExceededException" in codes
    time.sleep(1.1)  # a second later the quota is available again
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamArn"] == arn


def test_filter_log_events_is_throttled_and_may_answer_empty_pages(aws: Lab) -> None:
    function = _create_function(aws, _new_role(aws))
    aws.lambda_.invoke(FunctionName=function, Payload=b"{}")
    wait_for(lambda: any(m.startswith("REPORT") for m in _messages(aws, function)), timeout=30)
    time.sleep(1.1)
    logs = _client(aws, "logs")
    group = f"/aws/lambda/{function}"
    codes = []
    for _ in range(12):
        try:
            logs.filter_log_events(logGroupName=group)
            codes.append("ok")
        except ClientError as error:
            codes.append(_code(error))
    assert codes.count("ok") <= 5 and "ThrottlingException" in codes
    time.sleep(1.1)  # a second later the quota is available again

    empty = None
    for _ in range(20):  # the seeded coin gives an empty first page sooner or later
        time.sleep(0.25)
        page = logs.filter_log_events(logGroupName=group)
        if not page["events"]:
            empty = page
            break
    assert empty is not None and empty.get("nextToken"), "no empty page with a token"
    time.sleep(0.25)
    following = logs.filter_log_events(logGroupName=group, nextToken=empty["nextToken"])
    assert any(event["message"].startswith("START") for event in following["events"])


def test_the_log_group_appears_at_the_first_invocation_and_events_arrive_late(aws: Lab) -> None:
    function = _create_function(aws, _new_role(aws))
    group = f"/aws/lambda/{function}"
    listed = aws.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert listed == []  # not at CreateFunction
    aws.lambda_.invoke(FunctionName=function, Payload=b"{}")
    listed = aws.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in listed] == [group]
    streams = aws.logs.describe_log_streams(logGroupName=group)["logStreams"]
    stream = streams[0]["logStreamName"]

    def report() -> dict | None:
        events = aws.logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
        return next((e for e in events if e["message"].startswith("REPORT")), None)

    event = wait_for(report, timeout=30)
    # Ingested at least the profile's smallest delay (2 s x 0.05) after it was written.
    assert event["ingestionTime"] - event["timestamp"] >= 0.05 * 2 * 1000 - 20


def test_a_mapping_checks_the_policy_as_it_was_and_is_creating_before_latest_starts(
    aws: Lab,
) -> None:
    table = _table(aws, stream=True)
    stream = aws.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    role = _new_role(aws)
    function = _create_function(aws, role)
    role_name = role.rsplit("/", 1)[1]
    grant = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(STREAM_ACTIONS), "Resource": "*"}]}  # fmt: skip
    aws.iam.put_role_policy(
        RoleName=role_name, PolicyName="stream", PolicyDocument=json.dumps(grant)
    )
    with pytest.raises(ClientError) as stale:  # the grant has not propagated yet
        aws.lambda_.create_event_source_mapping(
            FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
        )
    assert _code(stale.value) == "InvalidParameterValueException"
    assert "Cannot access stream" in str(stale.value)

    def create() -> dict | None:
        try:
            return aws.lambda_.create_event_source_mapping(
                FunctionName=function, EventSourceArn=stream, StartingPosition="LATEST"
            )
        except ClientError as error:
            assert _code(error) == "InvalidParameterValueException"
            return None

    mapping = wait_for(create, timeout=30, interval=0.1)
    assert mapping["State"] == "Creating"
    uuid_ = mapping["UUID"]
    assert aws.lambda_.get_event_source_mapping(UUID=uuid_)["State"] == "Creating"
    aws.dynamodb.put_item(TableName=table, Item={"pk": {"S": "before-start"}})
    wait_for(
        lambda: aws.lambda_.get_event_source_mapping(UUID=uuid_)["State"] == "Enabled",
        timeout=30,
        interval=0.1,
    )
    aws.dynamodb.put_item(TableName=table, Item={"pk": {"S": "after-start"}})
    wait_for(lambda: "KEY after-start\n" in _messages(aws, function), timeout=30, interval=0.2)
    assert "KEY before-start\n" not in _messages(aws, function)

    deleted = aws.lambda_.delete_event_source_mapping(UUID=uuid_)
    assert deleted["State"] == "Deleting"
    assert aws.lambda_.get_event_source_mapping(UUID=uuid_)["State"] == "Deleting"
    listed = aws.lambda_.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert [m["State"] for m in listed] == ["Deleting"]

    def gone() -> bool:
        try:
            aws.lambda_.get_event_source_mapping(UUID=uuid_)
            return False
        except ClientError as error:
            return _code(error) == "ResourceNotFoundException"

    wait_for(gone, timeout=30, interval=0.1)


def test_the_account_runs_at_most_ten_invocations_at_once(aws: Lab) -> None:
    function = _create_function(aws, _new_role(aws), SLEEPER, Timeout=10)
    client = _client(aws, "lambda")
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == 10
    with pytest.raises(ClientError) as reserved:
        client.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=1)
    assert "below its minimum value of [10]" in str(reserved.value)

    results: list[Any] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            outcome: Any = client.invoke(FunctionName=function, Payload=b"{}")["StatusCode"]
        except ClientError as error:
            outcome = error.response
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    throttled = [r for r in results if isinstance(r, dict)]
    assert len(results) == 12
    assert results.count(200) <= 10 and throttled
    error = throttled[0]
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert error["Reason"] == "ConcurrentInvocationLimitExceeded"


def _mapping(lab: Lab, function: str, stream: str, position: str = "TRIM_HORIZON") -> str:
    """A stream mapping, created once the role's grant has propagated, waited until Enabled."""

    def create() -> dict | None:
        try:
            return lab.lambda_.create_event_source_mapping(
                FunctionName=function, EventSourceArn=stream, StartingPosition=position
            )
        except ClientError as error:
            assert _code(error) == "InvalidParameterValueException"
            return None

    uuid_ = wait_for(create, timeout=30, interval=0.1)["UUID"]
    wait_for(
        lambda: lab.lambda_.get_event_source_mapping(UUID=uuid_)["State"] == "Enabled",
        timeout=30,
        interval=0.1,
    )
    return uuid_


def test_a_throttled_mapping_backs_off_and_delivers_once_the_account_has_room(aws: Lab) -> None:
    grant = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(STREAM_ACTIONS), "Resource": "*"}]}  # fmt: skip
    table = _table(aws, stream=True)
    stream = aws.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    printer = _create_function(aws, _new_role(aws, grant))
    hog = _create_function(aws, _new_role(aws), SLEEPER.replace("(2)", "(4)"), Timeout=10)
    uuid_ = _mapping(aws, printer, stream)
    client = _client(aws, "lambda")
    hogs = [
        threading.Thread(target=lambda: client.invoke(FunctionName=hog, Payload=b"{}"))
        for _ in range(10)
    ]
    for thread in hogs:
        thread.start()

    def account_full() -> bool:
        try:
            client.invoke(FunctionName=hog, Payload=b"{}", InvocationType="DryRun")
            client.invoke(FunctionName=printer, Payload=b'{"Records": []}')
            return False
        except ClientError as error:
            return _code(error) == "TooManyRequestsException"

    wait_for(account_full, timeout=30, interval=0.05)
    aws.dynamodb.put_item(TableName=table, Item={"pk": {"S": "waited"}})
    wait_for(
        lambda: (
            aws.lambda_.get_event_source_mapping(UUID=uuid_)["LastProcessingResult"]
            == "PROBLEM: Function call failed"
        ),
        timeout=10,
    )
    for thread in hogs:
        thread.join(60)
    wait_for(lambda: "KEY waited\n" in _messages(aws, printer), timeout=30, interval=0.2)
    assert _messages(aws, printer).count("KEY waited\n") == 1
    wait_for(
        lambda: aws.lambda_.get_event_source_mapping(UUID=uuid_)["LastProcessingResult"] == "OK"
    )


def test_updating_and_disabling_a_mapping_take_time(aws: Lab) -> None:
    grant = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(STREAM_ACTIONS), "Resource": "*"}]}  # fmt: skip
    table = _table(aws, stream=True)
    stream = aws.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    function = _create_function(aws, _new_role(aws, grant))
    uuid_ = _mapping(aws, function, stream)

    def state() -> str:
        return aws.lambda_.get_event_source_mapping(UUID=uuid_)["State"]

    assert aws.lambda_.update_event_source_mapping(UUID=uuid_, BatchSize=5)["State"] == "Updating"
    assert state() == "Updating"
    wait_for(lambda: state() == "Enabled", timeout=30, interval=0.1)
    assert aws.lambda_.get_event_source_mapping(UUID=uuid_)["BatchSize"] == 5
    assert aws.lambda_.update_event_source_mapping(UUID=uuid_, Enabled=False)["State"] == (
        "Disabling"
    )
    assert state() == "Disabling"
    wait_for(lambda: state() == "Disabled", timeout=30, interval=0.1)


def test_a_table_is_updating_after_update_table_and_refuses_another_change_meanwhile(
    aws: Lab,
) -> None:
    name = _table(aws)
    updated = aws.dynamodb.update_table(
        TableName=name,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    assert updated["TableDescription"]["TableStatus"] == "UPDATING"
    assert aws.dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "UPDATING"
    with pytest.raises(ClientError) as busy:
        _client(aws, "dynamodb").update_table(
            TableName=name, StreamSpecification={"StreamEnabled": False}
        )
    assert _code(busy.value) == "ResourceInUseException"
    aws.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAITER)
    assert aws.dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
