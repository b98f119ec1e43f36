"""Function states: Pending -> Active, LastUpdateStatus InProgress -> Successful, as on AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_helpers import deploy, invoke, private_emulator, role_arn, unique, zip_source

from streamlab.aws.session import Lab

SOURCE = "def handler(event, context):\n    return 'ran'\n"
FAST_WAITER = {"Delay": 1, "MaxAttempts": 30}


def test_create_answers_pending_and_the_active_waiter_returns(lab: Lab) -> None:
    name = unique("rt-state")
    created = lab.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(lab),
        Handler="lambda_function.handler",
        Code={"ZipFile": zip_source(SOURCE)},
    )
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    assert lab.lambda_.get_function(FunctionName=name)["Configuration"]["State"] == "Active"


def test_update_answers_in_progress_and_the_updated_waiter_returns(lab: Lab) -> None:
    name = deploy(lab, SOURCE)
    updated = lab.lambda_.update_function_configuration(FunctionName=name, Timeout=5)
    assert updated["LastUpdateStatus"] == "InProgress"
    lab.lambda_.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    config = lab.lambda_.get_function_configuration(FunctionName=name)
    assert config["LastUpdateStatus"] == "Successful"


@pytest.fixture(scope="module")
def slow_lab(state_dir: Path) -> Iterator[Lab]:
    """An emulator whose functions stay Pending (and updates InProgress) for 4 s."""
    with private_emulator(state_dir, LAB_LAMBDA_PENDING_SECONDS="4") as lab:
        yield lab


def test_invoking_a_pending_function_fails_until_it_is_active(slow_lab: Lab) -> None:
    lab = slow_lab
    name = deploy(lab, SOURCE)
    assert lab.lambda_.get_function(FunctionName=name)["Configuration"]["State"] == "Pending"
    with pytest.raises(lab.lambda_.exceptions.ResourceConflictException) as error:
        lab.lambda_.invoke(FunctionName=name, Payload=b"{}")
    assert "currently in the following state: Pending" in str(error.value)
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    assert invoke(lab, name)["body"] == "ran"


def test_update_stays_in_progress_until_done(slow_lab: Lab) -> None:
    lab = slow_lab
    name = deploy(lab, SOURCE)
    lab.lambda_.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    lab.lambda_.update_function_code(
        FunctionName=name, ZipFile=zip_source(SOURCE.replace("ran", "new"))
    )
    config = lab.lambda_.get_function_configuration(FunctionName=name)
    assert config["LastUpdateStatus"] == "InProgress"
    lab.lambda_.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    assert invoke(lab, name)["body"] == "new"
