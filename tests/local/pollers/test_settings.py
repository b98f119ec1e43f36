"""Stream mapping settings: AWS's defaults and AWS's refusals."""

from __future__ import annotations

import pytest

from streamlab.local.pollers.settings import (
    MappingSettings,
    SettingsError,
    validate,
    with_defaults,
)

BASE = {
    "UUID": "u",
    "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
    "EventSourceArn": "arn:aws:dynamodb:us-east-1:1:table/T/stream/L",
    "StartingPosition": "TRIM_HORIZON",
}


def refusal(**body: object) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        validate({"StartingPosition": "LATEST", **body}, creating=True)
    return caught.value


def test_defaults_are_reported_as_aws_reports_them() -> None:
    config = with_defaults(BASE)
    assert config["BatchSize"] == 100 and config["MaximumRetryAttempts"] == -1
    assert config["MaximumRecordAgeInSeconds"] == -1 and config["ParallelizationFactor"] == 1
    assert config["BisectBatchOnFunctionError"] is False
    assert config["TumblingWindowInSeconds"] == 0 and config["FunctionResponseTypes"] == []
    assert config["DestinationConfig"] == {"OnFailure": {}}


def test_settings_from_configuration() -> None:
    settings = MappingSettings.from_configuration(
        {
            **BASE,
            "BatchSize": 7,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:1:q"}},
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
        }
    )
    assert settings.batch_size == 7 and settings.report_batch_item_failures
    assert settings.on_failure_destination == "arn:aws:sqs:us-east-1:1:q"
    assert settings.filter_patterns == ('{"eventName": ["INSERT"]}',)
    assert settings.maximum_retry_attempts == -1


@pytest.mark.parametrize(
    "name, value, wire, bound",
    [
        ("BatchSize", 10001, "batchSize", "less than or equal to 10000"),
        ("BatchSize", 0, "batchSize", "greater than or equal to 1"),
        (
            "MaximumBatchingWindowInSeconds",
            301,
            "maximumBatchingWindowInSeconds",
            "less than or equal to 300",
        ),
        ("ParallelizationFactor", 11, "parallelizationFactor", "less than or equal to 10"),
        ("MaximumRetryAttempts", 10001, "maximumRetryAttempts", "less than or equal to 10000"),
        ("MaximumRetryAttempts", -2, "maximumRetryAttempts", "greater than or equal to -1"),
        ("TumblingWindowInSeconds", 901, "tumblingWindowInSeconds", "less than or equal to 900"),
        (
            "MaximumRecordAgeInSeconds",
            604801,
            "maximumRecordAgeInSeconds",
            "less than or equal to 604800",
        ),
    ],
)
def test_out_of_range_settings_are_refused_with_aws_wording(
    name: str, value: int, wire: str, bound: str
) -> None:
    error = refusal(**{name: value})
    assert error.code == "ValidationException"
    assert error.message == (
        f"1 validation error detected: Value '{value}' at '{wire}' failed "
        f"to satisfy constraint: Member must have value {bound}"
    )


def test_record_age_below_sixty_seconds_is_refused() -> None:
    error = refusal(MaximumRecordAgeInSeconds=59)
    assert error.code == "InvalidParameterValueException"
    assert "either -1 (forever) or between 60 and 604800" in error.message
    validate({"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 60}, creating=True)


def test_invalid_filter_pattern_and_too_many_filters() -> None:
    assert refusal(FilterCriteria={"Filters": [{"Pattern": "not json"}]}).message == (
        "Invalid filter pattern definition."
    )
    assert refusal(FilterCriteria={"Filters": [{"Pattern": '{"a": 1}'}]}).message == (
        "Invalid filter pattern definition."
    )
    six = [{"Pattern": '{"eventName": ["INSERT"]}'}] * 6
    assert refusal(FilterCriteria={"Filters": six}).code == "ValidationException"


def test_starting_position_is_required_and_must_be_known() -> None:
    with pytest.raises(SettingsError):
        validate({}, creating=True)
    assert refusal(StartingPosition="SOMETIMES").code == "ValidationException"
    assert refusal(StartingPosition="AT_TIMESTAMP").code == "InvalidParameterValueException"
    validate({"BatchSize": 5}, creating=False)  # updates need no starting position


def test_destination_must_be_sqs_or_sns_and_function_response_types_known() -> None:
    error = refusal(DestinationConfig={"OnFailure": {"Destination": "arn:aws:s3:::bucket/x/y"}})
    assert error.code == "InvalidParameterValueException"
    assert refusal(FunctionResponseTypes=["Everything"]).code == "ValidationException"
