"""Delete everything the labs made under the participant's prefix, and prove it is gone.

The most expensive mistake in a workshop is a forgotten table or function, so
cleanup is first-class: it lists (``dry_run``), deletes in dependency order
(mappings before functions, functions before roles), waits for deletions that
take time, and lists again. A mapping AWS is still deleting (``Deleting``, which
can last minutes) is waited for, bounded, and then reported as going away,
not as left over. It only touches names that start with the prefix,
and never a resource tagged for another participant. On real AWS an empty
prefix is refused: it would mean "everything in the account".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import botocore.exceptions

from streamlab.aws import tables
from streamlab.aws.mappings import wait_until_mappings_gone
from streamlab.aws.session import Lab
from streamlab.aws.tags import tagged_for_another_prefix
from streamlab.aws.waiting import WaitTimedOut
from streamlab.errors import LabError

REGIONAL_KINDS = ("event source mapping", "function", "log group", "queue", "topic", "table")
MAPPING = "event source mapping"
DELETING = "Deleting"


@dataclass(frozen=True)
class Resource:
    """One thing to delete: its kind, name, region and the identifier the API wants."""

    kind: str
    name: str
    region: str
    identifier: str
    state: str = ""  # a mapping's State when it was listed (AWS keeps "Deleting" ones a while)

    def __str__(self) -> str:
        where = "global" if self.region == "global" else self.region
        state = f", {self.state}" if self.state == DELETING else ""
        return f"{self.kind:<22} {self.name}  ({where}{state})"

    @property
    def going_away(self) -> bool:
        """Deleted already; AWS finishes it by itself (nothing to delete again)."""
        return self.kind == MAPPING and self.state == DELETING


@dataclass
class CleanupReport:
    """What was found, what was deleted, what failed, and what is left afterwards."""

    found: list[Resource] = field(default_factory=list)
    deleted: list[Resource] = field(default_factory=list)
    failed: list[tuple[Resource, str]] = field(default_factory=list)
    remaining: list[Resource] = field(default_factory=list)
    going_away: list[Resource] = field(default_factory=list)
    dry_run: bool = False

    @property
    def clean(self) -> bool:
        return not self.dry_run and not self.remaining and not self.failed

    def summary(self) -> str:
        if self.dry_run:
            return f"dry run: {len(self.found)} resource(s) would be deleted"
        later = (
            f" ({len(self.going_away)} mapping(s) still Deleting: AWS finishes them by itself)"
            if self.going_away
            else ""
        )
        if self.clean:
            return (
                f"deleted {len(self.deleted)} resource(s); nothing is left under the prefix{later}"
            )
        return (
            f"deleted {len(self.deleted)}, {len(self.failed)} failed, "
            f"{len(self.remaining)} still present: run the cleanup again"
        )


def regions_used(lab: Lab) -> list[str]:
    """Every region the labs create resources in (the lab's and the replica's)."""
    return list(dict.fromkeys([lab.region, lab.config.replica_region]))


def _owned(lab: Lab, name: str, tags: Callable[[], dict[str, str]]) -> bool:
    if not name.startswith(lab.prefix):
        return False
    try:
        return not tagged_for_another_prefix(tags(), lab.prefix)
    except botocore.exceptions.ClientError:
        return True  # no tags to read: the name decides


def _function_is_ours(lab: Lab, region: str, function_name: str) -> bool:
    """A mapping or log group belongs to whoever owns its function (or to the name if gone)."""
    if not function_name.startswith(lab.prefix):
        return False
    client = lab.client("lambda", region)
    try:
        arn = client.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    except client.exceptions.ResourceNotFoundException:
        return True
    return _owned(lab, function_name, lambda: client.list_tags(Resource=arn)["Tags"])


def _mappings(lab: Lab, region: str) -> Iterator[Resource]:
    client = lab.client("lambda", region)
    for page in client.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            function_name = mapping["FunctionArn"].split(":")[6]
            if _function_is_ours(lab, region, function_name):
                source = mapping.get("EventSourceArn", "?").split(":table/", 1)[-1]
                label = f"{function_name} <- {source}"
                state = str(mapping.get("State", ""))
                yield Resource(MAPPING, label, region, mapping["UUID"], state)


def _functions(lab: Lab, region: str) -> Iterator[Resource]:
    client = lab.client("lambda", region)
    for page in client.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            name, arn = function["FunctionName"], function["FunctionArn"]
            if _owned(lab, name, lambda arn=arn: client.list_tags(Resource=arn)["Tags"]):
                yield Resource("function", name, region, name)


def _log_groups(lab: Lab, region: str) -> Iterator[Resource]:
    client = lab.client("logs", region)
    paginator = client.get_paginator("describe_log_groups")
    for page in paginator.paginate(logGroupNamePrefix=f"/aws/lambda/{lab.prefix}"):
        for group in page["logGroups"]:
            function_name = group["logGroupName"].removeprefix("/aws/lambda/")
            if _function_is_ours(lab, region, function_name):
                yield Resource("log group", group["logGroupName"], region, group["logGroupName"])


def _queues(lab: Lab, region: str) -> Iterator[Resource]:
    client = lab.client("sqs", region)
    arguments = {"QueueNamePrefix": lab.prefix} if lab.prefix else {}
    for url in client.list_queues(**arguments).get("QueueUrls", []):
        name = url.rsplit("/", 1)[-1]
        if _owned(lab, name, lambda url=url: client.list_queue_tags(QueueUrl=url).get("Tags", {})):
            yield Resource("queue", name, region, url)


def _topics(lab: Lab, region: str) -> Iterator[Resource]:
    client = lab.client("sns", region)
    for page in client.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            arn = topic["TopicArn"]
            name = arn.rsplit(":", 1)[-1]

            def tags(arn: str = arn) -> dict[str, str]:
                listed = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
                return {tag["Key"]: tag["Value"] for tag in listed}

            if _owned(lab, name, tags):
                yield Resource("topic", name, region, arn)


def _tables(lab: Lab, region: str) -> Iterator[Resource]:
    client = lab.client("dynamodb", region)
    for page in client.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            if not name.startswith(lab.prefix):
                continue

            def tags(name: str = name) -> dict[str, str]:
                arn = client.describe_table(TableName=name)["Table"]["TableArn"]
                listed = client.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
                return {tag["Key"]: tag["Value"] for tag in listed}

            if _owned(lab, name, tags):
                yield Resource("table", name, region, name)


def _roles(lab: Lab) -> Iterator[Resource]:
    client = lab.iam
    for page in client.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            if role.get("Path", "/").startswith("/aws-service-role/"):
                continue  # created by AWS itself, never by the labs

            def tags(name: str = name) -> dict[str, str]:
                listed = client.list_role_tags(RoleName=name)["Tags"]
                return {tag["Key"]: tag["Value"] for tag in listed}

            if _owned(lab, name, tags):
                yield Resource("role", name, "global", name)


_REGIONAL_FINDERS = (_mappings, _functions, _log_groups, _queues, _topics, _tables)


def find_resources(lab: Lab) -> list[Resource]:
    """Everything under the prefix, in the order it must be deleted."""
    _refuse_unscoped(lab)
    found: list[Resource] = []
    for finder in _REGIONAL_FINDERS[:3]:
        for region in regions_used(lab):
            found.extend(finder(lab, region))
    found.extend(_roles(lab))
    for finder in _REGIONAL_FINDERS[3:]:
        for region in regions_used(lab):
            found.extend(finder(lab, region))
    return found


def leftovers(lab: Lab) -> list[Resource]:
    """What is still under the prefix, leaving out mappings AWS is already deleting."""
    return [resource for resource in find_resources(lab) if not resource.going_away]


def _delete_role(lab: Lab, name: str) -> None:
    iam = lab.iam
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=name
        )
    iam.delete_role(RoleName=name)


def _delete(lab: Lab, resource: Resource) -> None:
    region = resource.region
    if resource.kind == "event source mapping":
        lab.client("lambda", region).delete_event_source_mapping(UUID=resource.identifier)
    elif resource.kind == "function":
        lab.client("lambda", region).delete_function(FunctionName=resource.identifier)
    elif resource.kind == "log group":
        lab.client("logs", region).delete_log_group(logGroupName=resource.identifier)
    elif resource.kind == "role":
        _delete_role(lab, resource.identifier)
    elif resource.kind == "queue":
        lab.client("sqs", region).delete_queue(QueueUrl=resource.identifier)
    elif resource.kind == "topic":
        lab.client("sns", region).delete_topic(TopicArn=resource.identifier)
    elif resource.kind == "table":
        lab.client("dynamodb", region).delete_table(TableName=resource.identifier)
    else:  # pragma: no cover - the finders only make the kinds above
        raise ValueError(resource.kind)


def _wait_for_deletions(lab: Lab, deleted: list[Resource]) -> None:
    """Wait (bounded, with progress) for mappings and tables that take time to go.

    At the limit the cleanup carries on: what is still going away is listed
    again below, mappings as "still Deleting", anything else as left over.
    """
    by_region: dict[str, list[str]] = {}
    for resource in deleted:
        if resource.kind == MAPPING:
            by_region.setdefault(resource.region, []).append(resource.identifier)
    try:
        for region, uuids in by_region.items():
            wait_until_mappings_gone(lab, uuids, region=region)
        for table in (r for r in deleted if r.kind == "table"):
            tables.wait_until_gone(lab, table.identifier, table.region)
    except WaitTimedOut as exc:
        print(f"cleanup: {exc}", flush=True)


def _refuse_unscoped(lab: Lab) -> None:
    if lab.backend == "aws" and not lab.prefix:
        raise LabError(
            "Refusing to clean up a real AWS account without a prefix (it would mean every "
            "resource in the account): set LAB_PREFIX to the prefix your labs used."
        )


def cleanup(lab: Lab, dry_run: bool = False) -> CleanupReport:
    """Delete everything under the prefix (or only list it with ``dry_run``)."""
    report = CleanupReport(found=find_resources(lab), dry_run=dry_run)
    if dry_run:
        return report
    for resource in report.found:
        if resource.going_away:  # deleted by an earlier run; AWS is still at it
            report.deleted.append(resource)
            continue
        try:
            _delete(lab, resource)
            report.deleted.append(resource)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ResourceNotFoundException", "NoSuchEntity", "NotFound"):
                report.deleted.append(resource)  # already gone: that is the goal
            else:
                report.failed.append((resource, f"{code}: {exc}"))
    _wait_for_deletions(lab, report.deleted)
    left = find_resources(lab)
    report.going_away = [r for r in left if r.going_away]
    report.remaining = [r for r in left if not r.going_away]
    return report
