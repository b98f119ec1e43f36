"""A stream mapping's settings: AWS's defaults, AWS's validation, one frozen value.

moto stores only what the request named (and accepts out-of-range values), so
the poller reads its settings from here, and the API layer uses the same
validation to reject what AWS rejects, with AWS's wording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPatternParser

# What AWS reports for a DynamoDB stream mapping when the request left a setting out.
STREAM_DEFAULTS: dict[str, Any] = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "MaximumRecordAgeInSeconds": -1,
    "BisectBatchOnFunctionError": False,
    "MaximumRetryAttempts": -1,
    "TumblingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
    "DestinationConfig": {"OnFailure": {}},
}

# (API name, wire name in AWS's validation message, minimum, maximum)
_RANGES = [
    ("BatchSize", "batchSize", 1, 10000),
    ("MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, 300),
    ("ParallelizationFactor", "parallelizationFactor", 1, 10),
    ("MaximumRecordAgeInSeconds", "maximumRecordAgeInSeconds", -1, 604800),
    ("MaximumRetryAttempts", "maximumRetryAttempts", -1, 10000),
    ("TumblingWindowInSeconds", "tumblingWindowInSeconds", 0, 900),
]
MAX_FILTERS = 5
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")


class SettingsError(Exception):
    """A setting AWS would refuse: ``code`` is the AWS error code, the message AWS's text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _validation_error(value: Any, wire_name: str, constraint: str) -> SettingsError:
    return SettingsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{wire_name}' failed to satisfy "
        f"constraint: {constraint}",
    )


def validate(body: dict[str, Any], *, creating: bool) -> None:
    """Raise ``SettingsError`` for a request body AWS would refuse for a DynamoDB stream."""
    for name, wire_name, low, high in _RANGES:
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(
                "InvalidParameterValueException", f"{name} must be an integer, got {value!r}"
            )
        if value < low:
            raise _validation_error(
                value, wire_name, f"Member must have value greater than or equal to {low}"
            )
        if value > high:
            raise _validation_error(
                value, wire_name, f"Member must have value less than or equal to {high}"
            )
    age = body.get("MaximumRecordAgeInSeconds")
    if age is not None and age != -1 and age < 60:
        raise SettingsError(
            "InvalidParameterValueException",
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 "
            "(inclusive)",
        )
    if creating:
        position = body.get("StartingPosition")
        if not position:
            raise SettingsError(
                "InvalidParameterValueException",
                "StartingPosition is required for DynamoDB stream event sources: "
                "use TRIM_HORIZON or LATEST",
            )
        if position not in STARTING_POSITIONS:
            constraint = "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]"
            if position == "AT_TIMESTAMP":
                raise SettingsError(
                    "InvalidParameterValueException",
                    "Unsupported starting position for DynamoDB stream event sources: AT_TIMESTAMP",
                )
            raise _validation_error(position, "startingPosition", constraint)
    types = body.get("FunctionResponseTypes")
    if types is not None:
        for value in types:
            if value != REPORT_BATCH_ITEM_FAILURES:
                raise _validation_error(
                    types,
                    "functionResponseTypes",
                    "Member must satisfy constraint: [Member must satisfy enum value set: "
                    "[ReportBatchItemFailures]]",
                )
    _validate_filters(body.get("FilterCriteria"))
    _validate_destination(body.get("DestinationConfig"))


def _validate_filters(criteria: Any) -> None:
    if criteria is None:
        return
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    if filters is None:
        return
    if len(filters) > MAX_FILTERS:
        raise _validation_error(
            filters,
            "filterCriteria.filters",
            f"Member must have length less than or equal to {MAX_FILTERS}",
        )
    for entry in filters:
        pattern = entry.get("Pattern") if isinstance(entry, dict) else None
        try:
            parsed = EventPatternParser(pattern).parse()
        except Exception as exc:  # moto raises its own InvalidEventPatternException
            raise SettingsError(
                "InvalidParameterValueException", "Invalid filter pattern definition."
            ) from exc
        if not isinstance(parsed, dict) or not parsed:
            raise SettingsError(
                "InvalidParameterValueException", "Invalid filter pattern definition."
            )


def _validate_destination(config: Any) -> None:
    if not config:
        return
    if "OnSuccess" in config and config["OnSuccess"]:
        raise SettingsError(
            "InvalidParameterValueException",
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        )
    destination = (config.get("OnFailure") or {}).get("Destination")
    if destination is None:
        return
    service = destination.split(":")[2] if destination.count(":") >= 5 else ""
    if service not in ("sqs", "sns"):
        raise SettingsError(
            "InvalidParameterValueException",
            f"The provided destination config DestinationConfig(onSuccess=null, "
            f"onFailure=OnFailure(destination={destination})) is invalid.",
        )


def on_failure_destination(config: dict[str, Any]) -> str | None:
    """The ARN of the OnFailure destination of a mapping's configuration, if any."""
    return ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")


@dataclass(frozen=True)
class MappingSettings:
    """What a poller needs to know about its mapping, with AWS's defaults filled in."""

    uuid: str
    function_arn: str
    event_source_arn: str
    starting_position: str = "TRIM_HORIZON"
    enabled: bool = True
    batch_size: int = 100
    batching_window_seconds: int = 0
    parallelization_factor: int = 1
    maximum_record_age_seconds: int = -1
    maximum_retry_attempts: int = -1
    bisect_on_error: bool = False
    tumbling_window_seconds: int = 0
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None
    filter_patterns: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_configuration(cls, config: dict[str, Any]) -> MappingSettings:
        """Build from a mapping configuration as the Lambda API returns it."""
        merged = {**STREAM_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
        filters = (merged.get("FilterCriteria") or {}).get("Filters") or []
        return cls(
            uuid=merged["UUID"],
            function_arn=merged["FunctionArn"],
            event_source_arn=merged["EventSourceArn"],
            starting_position=merged.get("StartingPosition") or "TRIM_HORIZON",
            enabled=merged.get("State") not in ("Disabled", "Disabling"),
            batch_size=int(merged["BatchSize"]),
            batching_window_seconds=int(merged["MaximumBatchingWindowInSeconds"]),
            parallelization_factor=int(merged["ParallelizationFactor"]),
            maximum_record_age_seconds=int(merged["MaximumRecordAgeInSeconds"]),
            maximum_retry_attempts=int(merged["MaximumRetryAttempts"]),
            bisect_on_error=bool(merged["BisectBatchOnFunctionError"]),
            tumbling_window_seconds=int(merged["TumblingWindowInSeconds"]),
            report_batch_item_failures=(
                REPORT_BATCH_ITEM_FAILURES in (merged.get("FunctionResponseTypes") or [])
            ),
            on_failure_destination=on_failure_destination(merged),
            filter_patterns=tuple(
                entry["Pattern"]
                for entry in filters
                if isinstance(entry, dict) and entry.get("Pattern")
            ),
        )


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A stream mapping configuration as AWS reports it: every default present."""
    result = dict(config)
    for key, value in STREAM_DEFAULTS.items():
        if result.get(key) is None:
            result[key] = json.loads(json.dumps(value))
    if not (result.get("DestinationConfig") or {}).get("OnFailure"):
        result["DestinationConfig"] = {**(result.get("DestinationConfig") or {}), "OnFailure": {}}
    return result
