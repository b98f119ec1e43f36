"""Wire a table's stream to a function, idempotently, and wait until it really polls.

On AWS a new mapping takes from seconds to minutes to reach ``Enabled``, and a
mapping created with ``LATEST`` before it is enabled misses the first writes,
so the labs use ``TRIM_HORIZON`` and always wait. Running the same cell again
updates the existing mapping instead of adding a second one (which would
deliver every record twice).
"""

from __future__ import annotations

import time
from typing import Any

from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tags
from streamlab.errors import LabError

SETTLED_STATES = ("Enabled", "Disabled")
WAIT_SECONDS = {"local": 30.0, "aws": 600.0}
# Settings that can be changed on an existing mapping (StartingPosition cannot).
_UPDATABLE = {
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "FunctionResponseTypes",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "FilterCriteria",
    "Enabled",
}


def stream_arn_of(lab: Lab, table_name: str, region: str | None = None) -> str:
    """The table's current stream ARN, or a LabError that says how to enable one."""
    client = lab.client("dynamodb", region)
    try:
        table = client.describe_table(TableName=table_name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        raise LabError(
            f"Table {table_name} does not exist: create it first (run the cells above)."
        ) from None
    arn = table.get("LatestStreamArn")
    if not arn or not table.get("StreamSpecification", {}).get("StreamEnabled"):
        raise LabError(
            f"Table {table_name} has no stream: enable one with "
            "StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'}."
        )
    return arn


def find_mapping(lab: Lab, stream_arn: str, function_name: str) -> dict | None:
    client = lab.lambda_
    mappings = client.list_event_source_mappings(
        EventSourceArn=stream_arn, FunctionName=function_name
    )["EventSourceMappings"]
    live = [m for m in mappings if m.get("State") != "Deleting"]
    return live[0] if live else None


def wait_for_mapping(
    lab: Lab, uuid: str, states: tuple[str, ...] = SETTLED_STATES, timeout: float | None = None
) -> dict:
    """Poll until the mapping reaches one of ``states``; a clear error if it does not."""
    timeout = WAIT_SECONDS[lab.backend] if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        mapping = lab.lambda_.get_event_source_mapping(UUID=uuid)
        if mapping.get("State") in states:
            return mapping
        if time.monotonic() > deadline:
            raise LabError(
                f"Mapping {uuid} is still {mapping.get('State')} after {timeout:.0f} s "
                f"(wanted {' or '.join(states)}); look at its StateTransitionReason: "
                f"{mapping.get('StateTransitionReason', 'none given')}."
            )
        time.sleep(0.2 if lab.backend == "local" else 5)


def connect_stream(
    lab: Lab,
    table_name: str,
    function_name: str,
    starting_position: str = "TRIM_HORIZON",
    **settings: Any,
) -> dict:
    """Create (or update) the mapping from the table's stream to the function, then wait.

    ``settings`` are CreateEventSourceMapping's own keyword arguments (``BatchSize``,
    ``MaximumRetryAttempts``, ``DestinationConfig`` ...), so what a learner writes here
    moves unchanged to a raw ``boto3`` call.
    """
    unknown = set(settings) - _UPDATABLE
    if unknown:
        raise LabError(
            f"Unknown mapping setting(s) {', '.join(sorted(unknown))}: use "
            f"CreateEventSourceMapping's names, e.g. {', '.join(sorted(_UPDATABLE)[:4])}."
        )
    stream_arn = stream_arn_of(lab, table_name)
    existing = find_mapping(lab, stream_arn, function_name)
    if existing:
        wait_for_mapping(lab, existing["UUID"])
        mapping = lab.lambda_.update_event_source_mapping(
            UUID=existing["UUID"], FunctionName=function_name, **settings
        )
    else:
        mapping = lab.lambda_.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName=function_name,
            StartingPosition=starting_position,
            Tags=prefix_tags(lab.prefix),
            **settings,
        )
    return wait_for_mapping(lab, mapping["UUID"])


def delete_mapping(lab: Lab, uuid: str, timeout: float | None = None) -> None:
    """Delete a mapping and wait until it is gone (its poller has stopped)."""
    client = lab.lambda_
    try:
        client.delete_event_source_mapping(UUID=uuid)
    except client.exceptions.ResourceNotFoundException:
        return
    timeout = WAIT_SECONDS[lab.backend] if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.get_event_source_mapping(UUID=uuid)
        except client.exceptions.ResourceNotFoundException:
            return
        time.sleep(0.2 if lab.backend == "local" else 5)
    raise LabError(f"Mapping {uuid} was not deleted within {timeout:.0f} s: try again.")
