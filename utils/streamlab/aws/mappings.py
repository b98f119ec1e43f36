"""Wire a table's stream to a function, idempotently, and wait until it really polls.

On AWS a new mapping takes from seconds to minutes to reach ``Enabled``, and a
mapping created with ``LATEST`` before it is enabled misses the first writes,
so the labs use ``TRIM_HORIZON`` and always wait. Running the same cell again
updates the existing mapping instead of adding a second one (which would
deliver every record twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.exceptions

from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tags
from streamlab.aws.waiting import Wait, error_code
from streamlab.errors import LabError

SETTLED_STATES = ("Enabled", "Disabled")
WAIT_SECONDS = {"local": 30.0, "aws": 600.0}
POLL_SECONDS = {"local": 0.2, "aws": 5.0}
#: How long a just-written role policy may take to reach Lambda's check of the role's
#: stream permissions (IAM is eventually consistent; AWS says seconds, users see up to ~1 min).
PROPAGATION_SECONDS = {"local": 0.0, "aws": 120.0}
#: The start of AWS's message when the role cannot (yet) read the stream.
STREAM_ACCESS_MESSAGE = "Cannot access stream"
#: ... and when the role cannot (yet) be assumed by Lambda.
ROLE_ASSUME_MESSAGE = "cannot be assumed by Lambda"
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
    wait = Wait(
        f"mapping {uuid} to be {' or '.join(states)}",
        timeout,
        "look at its State and StateTransitionReason (lab.lambda_.get_event_source_mapping"
        f"(UUID={uuid!r})), then run the cell again.",
        interval=POLL_SECONDS[lab.backend],
        jitter=0.2 if lab.backend == "aws" else 0.0,
    )
    while True:
        mapping = wait.look(lambda: lab.lambda_.get_event_source_mapping(UUID=uuid))
        if mapping is not None and mapping.get("State") in states:
            wait.done()
            return mapping
        state = "throttled" if mapping is None else f"still {mapping.get('State')}"
        wait.pause(state)


def is_propagation_error(exc: BaseException) -> bool:
    """AWS refused a mapping because the function's role cannot (yet) read the stream or be
    assumed: right after PutRolePolicy / CreateRole that is IAM propagation, not a mistake."""
    if error_code(exc) != "InvalidParameterValueException":
        return False
    assert isinstance(exc, botocore.exceptions.ClientError)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return STREAM_ACCESS_MESSAGE in message or ROLE_ASSUME_MESSAGE in message


def create_mapping_when_role_ready(
    lab: Lab,
    create: Callable[[], dict],
    *,
    function_name: str,
    timeout: float | None = None,
    wait: Wait | None = None,
) -> dict:
    """``create()`` (CreateEventSourceMapping), retried while the role's new policy propagates.

    AWS checks, at creation, that the function's role can read the stream; lab 05
    writes that policy and creates the mapping in consecutive cells, seconds
    apart, so the first answer can be "Cannot access stream" although the policy
    is right. Bounded: a role that really lacks the actions fails with what to do.
    """
    timeout = PROPAGATION_SECONDS[lab.backend] if timeout is None else timeout
    advice = (
        f"give the role of {function_name} dynamodb:DescribeStream, GetRecords and "
        "GetShardIterator on the stream and ListStreams on * (deploy it with --stream TABLE), "
        "then run the cell again."
    )
    wait = wait or Wait(
        f"the role of {function_name} to be allowed to read the stream (IAM propagation)",
        timeout,
        advice,
        interval=2.0,
        backoff=1.5,
        max_interval=10.0,
        quiet=0.0,  # say at once why nothing happens: this wait can take a minute
    )
    while True:
        try:
            return create()
        except botocore.exceptions.ClientError as exc:
            if not is_propagation_error(exc):
                raise
            message = str(exc.response["Error"].get("Message", ""))
            now = wait.now()
            if wait.remaining(now) <= 0:  # not propagation after all (the emulator never lags)
                retried = f" (still so after {wait.elapsed:.0f} s)" if wait.looks else ""
                raise LabError(f"{message}{retried}: {advice}") from None
            wait.pause("AWS still says: Cannot access stream", now=now)


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
        mapping = create_mapping_when_role_ready(
            lab,
            lambda: lab.lambda_.create_event_source_mapping(
                EventSourceArn=stream_arn,
                FunctionName=function_name,
                StartingPosition=starting_position,
                Tags=prefix_tags(lab.prefix),
                **settings,
            ),
            function_name=function_name,
        )
    return wait_for_mapping(lab, mapping["UUID"])


def delete_mapping(lab: Lab, uuid: str, timeout: float | None = None) -> None:
    """Delete a mapping and wait until it is gone (its poller has stopped)."""
    delete_mappings(lab, [uuid], timeout=timeout)


def delete_mappings(
    lab: Lab, uuids: list[str], timeout: float | None = None, *, region: str | None = None
) -> None:
    """Delete several mappings, then wait for all of them at once (bounded, with progress).

    On AWS a mapping stays ``Deleting`` for up to minutes; waiting for each in
    turn would add those minutes up.
    """
    client = lab.client("lambda", region) if region else lab.lambda_
    pending = []
    for uuid in uuids:
        try:
            client.delete_event_source_mapping(UUID=uuid)
        except client.exceptions.ResourceNotFoundException:
            continue
        except client.exceptions.ResourceInUseException:
            pass  # already being deleted (or updated): wait for it below
        pending.append(uuid)
    wait_until_mappings_gone(lab, pending, timeout=timeout, region=region)


def wait_until_mappings_gone(
    lab: Lab, uuids: list[str], timeout: float | None = None, *, region: str | None = None
) -> None:
    """Wait until none of ``uuids`` exists any more; a one-line error at the limit."""
    client = lab.client("lambda", region) if region else lab.lambda_
    timeout = WAIT_SECONDS[lab.backend] if timeout is None else timeout
    pending = list(uuids)
    wait = Wait(
        f"{len(pending)} event source mapping(s) to finish deleting",
        timeout,
        "AWS is still deleting them; run the cell again in a minute (or `streamlab cleanup`).",
        interval=POLL_SECONDS[lab.backend],
        jitter=0.2 if lab.backend == "aws" else 0.0,
    )
    while pending:
        for uuid in list(pending):

            def gone(uuid: str = uuid) -> bool:
                try:
                    client.get_event_source_mapping(UUID=uuid)
                except client.exceptions.ResourceNotFoundException:
                    return True
                return False

            if wait.look(gone):
                pending.remove(uuid)
        if not pending:
            break
        wait.pause(f"{len(pending)} still Deleting")
    wait.done()
