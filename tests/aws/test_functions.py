"""Deploying from a cell: the cell text is the package, re-running converges the function."""

from __future__ import annotations

import io
import json
import os
import socket
import zipfile
from collections.abc import Iterator

import botocore.exceptions
import pytest

from streamlab.aws import functions, invoke, roles
from streamlab.aws.session import Lab, connect
from streamlab.config import load_config
from streamlab.errors import LabError
from streamlab.local import control

HELLO = 'def lambda_handler(event, context):\n    print("Message: \\"Hello World\\"")\n'


def _unzip(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_zip_holds_exactly_the_cell_text_as_the_handler_module() -> None:
    code = "# é, tabs\tand no trailing newline\ndef lambda_handler(e, c):\n    return 1"
    assert _unzip(functions.build_zip(code)) == {"handler.py": code.encode("utf-8")}
    assert list(_unzip(functions.build_zip(code, "app.main"))) == ["app.py"]
    assert list(_unzip(functions.build_zip(code, "pkg.mod.main"))) == ["pkg/mod.py"]


def test_zip_is_byte_identical_for_the_same_text() -> None:
    assert functions.build_zip(HELLO) == functions.build_zip(HELLO)
    assert functions.build_zip(HELLO) != functions.build_zip(HELLO + "\n")


def test_a_malformed_handler_is_refused_before_any_call() -> None:
    with pytest.raises(LabError, match="MODULE.FUNCTION"):
        functions.build_zip(HELLO, "lambda_handler")


def test_table_variables_are_upper_snake_case() -> None:
    assert functions.table_variable("GameScoresByUser") == "GAME_SCORES_BY_USER_TABLE"
    assert functions.table_variable("orders-2") == "ORDERS_2_TABLE"


def test_deploy_creates_an_active_function_running_the_cell(lab: Lab) -> None:
    deployment = functions.deploy_function(lab, "fn-create", HELLO, tables=["Scores"])
    config = lab.lambda_.get_function_configuration(FunctionName=lab.name("fn-create"))
    assert deployment.action == "created"
    assert config["State"] == "Active"
    assert config["CodeSha256"] == functions.code_sha256(functions.build_zip(HELLO))
    assert config["Handler"] == "handler.lambda_handler"
    assert (config["Timeout"], config["MemorySize"]) == (3, 128)
    assert config["Role"] == deployment.role_arn
    assert config["Environment"]["Variables"] == {"SCORES_TABLE": lab.name("Scores")}
    tags = lab.lambda_.list_tags(Resource=config["FunctionArn"])["Tags"]
    assert tags == roles.lab_tags(lab)
    policy = lab.iam.get_role_policy(
        RoleName=f"{lab.name('fn-create')}-role", PolicyName=roles.EXECUTION_POLICY_NAME
    )["PolicyDocument"]
    assert "table/Scores" in str(policy)
    assert "fn-create created" in deployment.summary()


def test_deploy_gives_the_log_group_a_retention_and_the_lab_tags(lab: Lab) -> None:
    """Lambda's own log group keeps events forever: the kit makes it first, kept a day."""
    functions.deploy_function(lab, "fn-retention", HELLO)
    group = f"/aws/lambda/{lab.name('fn-retention')}"
    [described] = lab.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["retentionInDays"] == 1
    assert lab.logs.list_tags_log_group(logGroupName=group)["tags"] == roles.lab_tags(lab)
    functions.deploy_function(lab, "fn-retention", HELLO)  # running the cell again is fine


def test_running_the_cell_again_updates_code_and_settings(lab: Lab) -> None:
    functions.deploy_function(lab, "fn-update", HELLO)
    same = functions.deploy_function(lab, "fn-update", HELLO)
    assert same.action == "unchanged"
    wider = functions.deploy_function(lab, "fn-update", HELLO, queues=["dlq"])
    assert wider.action == "updated", "a new permission is a change"
    assert "SendToQueues" in str(wider.policy)

    new_code = HELLO + "    return 'v2'\n"
    updated = functions.deploy_function(
        lab, "fn-update", new_code, timeout=10, memory=256, environment={"MODE": "x"}
    )
    config = updated.configuration
    assert updated.action == "updated"
    assert config["CodeSha256"] == functions.code_sha256(functions.build_zip(new_code))
    assert (config["Timeout"], config["MemorySize"]) == (10, 256)
    assert config["Environment"]["Variables"] == {"MODE": "x"}
    assert config["LastUpdateStatus"] == "Successful"


def test_settings_outside_lambdas_limits_are_refused(lab: Lab) -> None:
    with pytest.raises(LabError, match="1-900 seconds"):
        functions.deploy_function(lab, "fn-bad", HELLO, timeout=0)
    with pytest.raises(LabError, match="128-10240 MB"):
        functions.deploy_function(lab, "fn-bad", HELLO, memory=64)


def test_create_is_retried_while_the_role_cannot_be_assumed(lab: Lab) -> None:
    """The emulator answers a role that does not exist yet with AWS's propagation message."""
    role_name = lab.name("fn-late-role")
    package = functions.build_zip(HELLO)
    sleeps: list[float] = []

    def role_appears(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            lab.iam.create_role(
                RoleName=role_name, AssumeRolePolicyDocument=json.dumps(roles.trust_policy())
            )

    result = functions.call_with_role_retry(
        lambda: lab.lambda_.create_function(
            FunctionName=lab.name("fn-late"),
            Runtime="python3.12",
            Role=f"arn:aws:iam::{lab.account_id}:role/{role_name}",
            Handler="handler.lambda_handler",
            Code={"ZipFile": package},
        ),
        sleep=role_appears,
    )
    assert result["FunctionName"] == lab.name("fn-late")
    assert sleeps == [1.0, 2.0]


def test_role_retry_gives_up_with_a_clear_message(lab: Lab) -> None:
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(LabError, match="cannot assume the execution role after 10 s"):
        functions.call_with_role_retry(
            lambda: lab.lambda_.create_function(
                FunctionName=lab.name("fn-never"),
                Runtime="python3.12",
                Role=f"arn:aws:iam::{lab.account_id}:role/{lab.name('no-such-role')}",
                Handler="handler.lambda_handler",
                Code={"ZipFile": functions.build_zip(HELLO)},
            ),
            deadline_seconds=10,
            sleep=advance,
            clock=lambda: now[0],
        )


def test_other_errors_are_not_retried(lab: Lab) -> None:
    calls = []

    def bad() -> None:
        calls.append(1)
        lab.lambda_.get_function(FunctionName=lab.name("fn-missing"))

    with pytest.raises(botocore.exceptions.ClientError):
        functions.call_with_role_retry(bad, sleep=lambda s: None)
    assert calls == [1]


def test_waiter_failure_is_one_line_with_the_reason(lab: Lab) -> None:
    with pytest.raises(LabError, match="did not become Active"):
        functions._wait(lab, "function_active_v2", lab.name("fn-absent"), "become Active")


def test_delete_removes_function_and_role(lab: Lab) -> None:
    functions.deploy_function(lab, "fn-delete", HELLO)
    assert functions.delete_function(lab, "fn-delete") is True
    assert functions.delete_function(lab, "fn-delete") is False
    with pytest.raises(lab.iam.exceptions.NoSuchEntityException):
        lab.iam.get_role(RoleName=f"{lab.name('fn-delete')}-role")


@pytest.fixture(scope="module")
def slow_lab() -> Iterator[Lab]:
    """An emulator whose functions stay Pending / InProgress for a moment, as on AWS."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    os.environ["LAB_LAMBDA_PENDING_SECONDS"] = "0.5"
    try:
        control.start(port)
    finally:
        os.environ.pop("LAB_LAMBDA_PENDING_SECONDS")
    try:
        yield connect(
            load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": f"http://127.0.0.1:{port}"}),
            start_emulator=False,
        )
    finally:
        control.stop(port)


def test_deploy_waits_for_active_and_for_a_successful_update(slow_lab: Lab) -> None:
    created = functions.deploy_function(slow_lab, "fn-slow", HELLO)
    assert created.configuration["State"] == "Active"
    assert invoke.invoke(slow_lab, "fn-slow", show_log=False)["StatusCode"] == 200

    updated = functions.deploy_function(slow_lab, "fn-slow", HELLO + "    return 2\n")
    assert updated.configuration["LastUpdateStatus"] == "Successful"
    assert invoke.invoke(slow_lab, "fn-slow", show_log=False)["Payload"] == 2


def test_the_emulator_really_reports_pending_without_the_wait(slow_lab: Lab) -> None:
    """The test above can fail: without waiting, a new function is still Pending."""
    policy = roles.execution_policy(slow_lab, "fn-raw")
    role, _ = roles.ensure_execution_role(slow_lab, "fn-raw", policy)
    slow_lab.lambda_.create_function(
        FunctionName="fn-raw",
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": functions.build_zip(HELLO)},
    )
    state = slow_lab.lambda_.get_function_configuration(FunctionName="fn-raw")["State"]
    assert state == "Pending"


def test_starting_afresh_keeps_the_role_and_can_drop_the_logs(lab: Lab) -> None:
    functions.deploy_function(lab, "fn-afresh", HELLO)
    invoke.invoke(lab, "fn-afresh", show_log=False)
    group = f"/aws/lambda/{lab.name('fn-afresh')}"
    assert lab.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert functions.delete_function(lab, "fn-afresh", delete_role=False, delete_logs=True)
    assert not lab.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert lab.iam.get_role(RoleName=f"{lab.name('fn-afresh')}-role")["Role"]
    assert functions.delete_function(lab, "fn-afresh", delete_logs=True) is False


def test_lab_permissions_boundary_is_put_on_the_role(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    boundary = f"arn:aws:iam::{lab.account_id}:policy/LabBoundary"
    monkeypatch.setenv("LAB_PERMISSIONS_BOUNDARY", boundary)
    deployment = functions.deploy_function(lab, "fn-bounded", HELLO)
    role = lab.iam.get_role(RoleName=deployment.role_arn.rsplit("/", 1)[-1])["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
