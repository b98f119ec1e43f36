"""How the kit marks what it creates, so cleanup finds exactly one participant's resources.

Every resource the helpers create carries the tag ``streamlab:prefix`` with the
participant's ``LAB_PREFIX``. Cleanup matches names by prefix and skips anything
whose tag names another prefix (``al-`` must never delete ``al-ice-``'s tables).
"""

from __future__ import annotations

PREFIX_TAG = "streamlab:prefix"
KIT_TAG = "streamlab:kit"


def prefix_tags(prefix: str) -> dict[str, str]:
    """The tags as a plain mapping (Lambda, SQS, logs style)."""
    return {KIT_TAG: "streamlab", PREFIX_TAG: prefix}  # AWS allows empty tag values


def prefix_tag_list(prefix: str) -> list[dict[str, str]]:
    """The tags as ``[{"Key": ..., "Value": ...}]`` (DynamoDB, IAM, SNS style)."""
    return [{"Key": key, "Value": value} for key, value in prefix_tags(prefix).items()]


def tagged_for_another_prefix(tags: dict[str, str], prefix: str) -> bool:
    """True when the resource carries our tag naming a different participant."""
    owner = tags.get(PREFIX_TAG)
    return owner is not None and owner != prefix
