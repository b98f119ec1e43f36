"""Replication by hand: a replica table in a second region, its bootstrap, its convergence check.

Lab 06 rebuilds what DynamoDB global tables do for you: a function on the
source table's stream applies every change to a table in another region. These
helpers do the parts around the lesson, so the notebook can stay on the
replicator itself: create the replica with the source's key schema, let the
function's role write to a table in another region (an ARN names its region,
so the lab-region scoping of ``--table`` cannot), copy the existing items by a
paginated scan, and compare both tables item by item, which is the only proof
that they converged. They take and return plain AWS shapes (typed items, names,
regions) so each step can be redone with raw ``boto3``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from streamlab.aws import roles, tables
from streamlab.aws.session import Lab
from streamlab.aws.tags import prefix_tag_list
from streamlab.aws.waiting import poll_until
from streamlab.errors import LabError

REPLICA_REGION_ENV = "REPLICA_REGION"
REPLICA_TABLE_ENV = "REPLICA_TABLE"
REPLICA_POLICY_NAME = "replica-writes"
#: What a replicator needs on the replica: put a new image, delete a removed key.
REPLICA_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
_BATCH = 25  # BatchWriteItem's limit
# A replicator still replaying history may take this many timeouts in all, while it progresses.
PATIENCE = 6.0


def replica_region(lab: Lab) -> str:
    """The second region (``LAB_REPLICA_REGION``, by default us-west-2), never the lab's own."""
    region = lab.config.replica_region
    if region == lab.region:  # config refuses this too; a hand-made Lab must not slip through
        raise LabError(
            f"The replica region is the lab region ({region}): set LAB_REPLICA_REGION to "
            "another region, e.g. us-west-2."
        )
    return region


def create_replica_table(
    lab: Lab, table: str, *, region: str | None = None, fresh: bool = False
) -> str:
    """Create ``table`` (a full name) in the replica region with the source's keys; wait for it.

    The replica needs the same key schema as the source (a PutItem of a source
    image must be valid there) and no stream of its own. ``fresh=True`` deletes
    an existing replica first, so a bootstrap starts from an empty table.
    """
    region = region or replica_region(lab)
    try:
        source = lab.dynamodb.describe_table(TableName=table)["Table"]
    except lab.dynamodb.exceptions.ResourceNotFoundException:
        raise LabError(
            f"Source table {table} does not exist in {lab.region}: create it first "
            "(run the cells above)."
        ) from None
    client = lab.client("dynamodb", region)
    if fresh:
        try:
            client.delete_table(TableName=table)
        except client.exceptions.ResourceNotFoundException:
            pass
        except client.exceptions.ResourceInUseException:
            pass  # already being deleted: wait below
        tables.wait_until_gone(lab, table, region)
    tables.ensure_not_deleting(lab, table, region)
    key_names = {key["AttributeName"] for key in source["KeySchema"]}
    try:
        client.create_table(
            TableName=table,
            KeySchema=source["KeySchema"],
            AttributeDefinitions=[
                d for d in source["AttributeDefinitions"] if d["AttributeName"] in key_names
            ],
            BillingMode="PAY_PER_REQUEST",
            Tags=prefix_tag_list(lab.prefix),
        )
    except client.exceptions.ResourceInUseException:
        pass  # it exists already: keep it
    tables.wait_until_active(lab, table, region)
    return table


def replica_write_statement(lab: Lab, table: str, region: str) -> dict[str, Any]:
    """The IAM statement that lets a function write one table (full name) in ``region``."""
    arn = f"arn:aws:dynamodb:{region}:{lab.account_id}:table/{table}"
    return {
        "Sid": "WriteReplicaTable",
        "Effect": "Allow",
        "Action": list(REPLICA_ACTIONS),
        "Resource": arn,
    }


def grant_replica_writes(lab: Lab, function: str, table: str, region: str) -> dict[str, Any]:
    """Let the function's role write ``table`` in ``region``; return the policy document.

    The permission is a second inline policy, ``replica-writes``, beside the
    deploy's own ``streamlab-execution`` policy: running the deploy cell again
    rewrites that one and keeps this one. A role that does not exist yet is
    created (as the deploy would), so the grant can come first and has
    propagated on AWS by the time the function runs. ``function`` is the base
    name (the prefix is added).
    """
    function_name = lab.name(function)
    role = roles.role_name_for(function_name)
    try:
        lab.iam.get_role(RoleName=role)
    except lab.iam.exceptions.NoSuchEntityException:
        roles.ensure_execution_role(
            lab,
            function_name,
            roles.execution_policy(lab, function_name),
            boundary=roles.permissions_boundary(),
        )
    document = {
        "Version": roles.POLICY_VERSION,
        "Statement": [replica_write_statement(lab, table, region)],
    }
    lab.iam.put_role_policy(
        RoleName=role, PolicyName=REPLICA_POLICY_NAME, PolicyDocument=json.dumps(document)
    )
    return document


# -- scanning and copying ---------------------------------------------------------------


def scan_items(client: Any, table: str, *, page_size: int | None = None) -> Iterator[dict]:
    """Every item of ``table``, page by page (a scan returns at most 1 MB per call).

    Strongly consistent, so an item written just before the scan is in it.
    """
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if page_size is not None:
        request["Limit"] = page_size
    while True:
        page = client.scan(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def write_items(
    client: Any, table: str, items: Iterable[Mapping[str, Any]], *, sleep: Callable = time.sleep
) -> int:
    """Put ``items`` (typed) with BatchWriteItem, 25 at a time, retrying unprocessed ones."""
    count = 0
    batch: list[Mapping[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == _BATCH:
            count += _write_batch(client, table, batch, sleep)
            batch = []
    if batch:
        count += _write_batch(client, table, batch, sleep)
    return count


def _write_batch(client: Any, table: str, items: list, sleep: Callable) -> int:
    requests: list[dict[str, Any]] = [{"PutRequest": {"Item": dict(item)}} for item in items]
    for attempt in range(10):
        answer = client.batch_write_item(RequestItems={table: requests})
        requests = answer.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return len(items)
        sleep(min(0.05 * 2**attempt, 2.0))  # AWS asks for back-off on unprocessed items
    raise LabError(
        f"{table} kept refusing {len(requests)} writes (throttled): wait a minute, then run "
        "the bootstrap again (it is safe to repeat)."
    )


def copy_items(
    lab: Lab, table: str, replica_table: str, region: str, *, page_size: int | None = None
) -> int:
    """Bootstrap: copy every item of ``table`` to ``replica_table`` in ``region``; return how many.

    Repeating it is safe: a put of the same image leaves the replica as it was.
    """
    target = lab.client("dynamodb", region)
    return write_items(target, replica_table, scan_items(lab.dynamodb, table, page_size=page_size))


# -- comparing ---------------------------------------------------------------------------


def key_names_of(description: Mapping[str, Any]) -> tuple[str, ...]:
    """The key attributes of a table description, hash key first."""
    keys = sorted(description["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
    return tuple(k["AttributeName"] for k in keys)


def _key_text(item: Mapping[str, Any], key_names: Sequence[str]) -> str:
    return ", ".join(f"{name}={_value_text(item.get(name))}" for name in key_names)


def _value_text(value: Any) -> str:
    if isinstance(value, Mapping) and len(value) == 1:
        return str(next(iter(value.values())))
    return str(value)


@dataclass(repr=False)
class TableComparison:
    """Two tables compared item by item: what is missing, extra or different in the replica."""

    source: str
    replica: str
    source_items: int = 0
    replica_items: int = 0
    missing: list[str] = field(default_factory=list)  # keys in the source only
    extra: list[str] = field(default_factory=list)  # keys in the replica only
    # (key, attribute names whose values differ or exist on one side only)
    different: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.different)

    def fingerprint(self) -> tuple:
        """What differs, to tell a replica still changing from one that stopped."""
        return (tuple(self.missing), tuple(self.extra), tuple(map(str, self.different)))

    def describe_differences(self, limit: int = 10) -> list[str]:
        lines = [f"missing in the replica: {key}" for key in self.missing]
        lines += [f"only in the replica: {key}" for key in self.extra]
        lines += [f"differs ({', '.join(names)}): {key}" for key, names in self.different]
        if len(lines) > limit:
            lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
        return lines

    def summary(self) -> str:
        if self.ok:
            return f"PASS: the replica holds the same {self.source_items} items as the source."
        return (
            f"FAIL: {len(self.missing)} missing, {len(self.extra)} extra, "
            f"{len(self.different)} different ({self.source_items} items in the source, "
            f"{self.replica_items} in the replica)"
        )

    def __str__(self) -> str:
        if self.ok:
            return self.summary()
        return "\n".join([self.summary() + ":", *("  " + d for d in self.describe_differences())])

    def __repr__(self) -> str:  # a notebook shows the verdict, not every item
        return str(self)


def compare_items(
    source_items: Iterable[Mapping[str, Any]],
    replica_items: Iterable[Mapping[str, Any]],
    key_names: Sequence[str],
    *,
    source: str = "source",
    replica: str = "replica",
) -> TableComparison:
    """Compare two sets of typed items by key, attribute by attribute."""
    if not key_names:
        raise LabError("key_names is empty: give the table's key attributes, e.g. ['RecordID'].")
    left = {_key_text(item, key_names): item for item in source_items}
    right = {_key_text(item, key_names): item for item in replica_items}
    comparison = TableComparison(source, replica, len(left), len(right))
    comparison.missing = sorted(set(left) - set(right))
    comparison.extra = sorted(set(right) - set(left))
    for key in sorted(set(left) & set(right)):
        a, b = left[key], right[key]
        names = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
        if names:
            comparison.different.append((key, names))
    return comparison


def compare_tables(
    lab: Lab, table: str, replica_table: str | None = None, region: str | None = None
) -> TableComparison:
    """Scan ``table`` here and its replica in ``region`` and compare them item by item."""
    region = region or replica_region(lab)
    replica_table = replica_table or table
    target = lab.client("dynamodb", region)
    try:
        keys = key_names_of(lab.dynamodb.describe_table(TableName=table)["Table"])
        target.describe_table(TableName=replica_table)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        raise LabError(
            f"{table} ({lab.region}) or {replica_table} ({region}) does not exist: run the "
            "cells that create them first."
        ) from None
    return compare_items(
        scan_items(lab.dynamodb, table),
        scan_items(target, replica_table),
        keys,
        source=f"{table} ({lab.region})",
        replica=f"{replica_table} ({region})",
    )


def wait_for_convergence(
    lab: Lab,
    table: str,
    replica_table: str | None = None,
    region: str | None = None,
    *,
    timeout: float = 30.0,
    interval: float = 0.5,
    patience: float = PATIENCE,
) -> TableComparison:
    """Compare until the replica has caught up; return the last result.

    Replication is asynchronous (milliseconds locally, about a second on AWS), so
    a check right after a write waits; a failure still shows what differs. A
    replicator that starts at ``TRIM_HORIZON`` first replays the stream's whole
    history, which takes a while on a busy machine (or account): as long as the
    replica keeps changing, the wait goes on, up to ``patience`` times ``timeout``
    in all; it gives up after ``timeout`` seconds without any change.
    """
    started = time.monotonic()
    comparison = compare_tables(lab, table, replica_table, region)
    while not comparison.ok:
        before = comparison.fingerprint()
        comparison = poll_until(
            lambda: compare_tables(lab, table, replica_table, region),
            lambda found: found.ok,
            what=f"the replica of {table} to catch up",
            limit=timeout,
            interval=interval,
            status=lambda found: f"{len(found.missing)} missing, {len(found.different)} differ",
            jitter=0.2 if lab.backend == "aws" else 0.0,
        )
        stalled = comparison.fingerprint() == before
        if stalled or time.monotonic() - started + timeout > patience * timeout:
            break
    return comparison
