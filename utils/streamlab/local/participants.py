"""Workshop participants inside the emulator: IAM users with the room's policy, as on AWS.

``streamlab env --participant NAME`` and the rehearsal (``make rehearsal``) set up in
the emulator what an instructor sets up in a shared account (``lab_guide/instructor.md``):
the room's permissions boundary (once), and per participant a managed policy made from
``lab_guide/iam/participant-policy.json`` with ``PREFIX`` replaced by ``NAME-``, attached
to an IAM user ``streamlab-NAME`` whose access key the participant uses. Under
``--profile aws`` the emulator then enforces that policy on every call the
participant's key signs (``local/iam``), as IAM would.

Everything is created through the emulator's own API with the owner's credentials,
idempotently: asking again for the same participant returns a key that works.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from streamlab.errors import ConfigError

USER_PREFIX = "streamlab-"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.]{0,20}$")


@dataclass(frozen=True)
class Participant:
    """What a participant's shell needs: their prefix, key and the room's boundary."""

    name: str
    access_key: str
    secret_key: str
    boundary_arn: str

    @property
    def prefix(self) -> str:
        return f"{self.name}-"

    def environment(self, endpoint: str, region: str) -> dict[str, str]:
        """The variables for ``LAB_BACKEND=aws`` against this emulator, as this participant."""
        return {
            "LAB_BACKEND": "aws",
            "LAB_PREFIX": self.prefix,
            "LAB_PERMISSIONS_BOUNDARY": self.boundary_arn,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


def check_name(name: str) -> str:
    """A participant's name: short, lower case, and never a prefix of a dash-ended name."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"--participant {name!r}: use 1-21 lower-case letters, digits, '_' or '.', "
            "starting with a letter or digit (the prefix is the name and a dash)."
        )
    return name


def _policy_document(prefix: str) -> str:
    from streamlab.tooling.participant_policy import (
        for_participant,
        lab_actions,
        participant_policy,
    )

    return json.dumps(for_participant(participant_policy(lab_actions()), prefix))


def _boundary_arn(iam: Any, account_id: str) -> str:
    from streamlab.tooling.participant_policy import BOUNDARY_NAME, boundary_policy

    arn = f"arn:aws:iam::{account_id}:policy/{BOUNDARY_NAME}"
    try:
        iam.get_policy(PolicyArn=arn)
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(PolicyName=BOUNDARY_NAME, PolicyDocument=json.dumps(boundary_policy()))
    return arn


def ensure_participant(lab: Any, name: str) -> Participant:
    """The participant ``name`` (created on first use) with a fresh access key."""
    name = check_name(name)
    iam = lab.iam
    account_id = lab.account_id
    boundary = _boundary_arn(iam, account_id)
    user = f"{USER_PREFIX}{name}"
    policy_name = f"streamlab-participant-{name}"
    policy_arn = f"arn:aws:iam::{account_id}:policy/{policy_name}"
    try:
        iam.get_policy(PolicyArn=policy_arn)
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(PolicyName=policy_name, PolicyDocument=_policy_document(f"{name}-"))
    try:
        iam.get_user(UserName=user)
    except iam.exceptions.NoSuchEntityException:
        iam.create_user(UserName=user, Tags=[{"Key": "streamlab:participant", "Value": name}])
    iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
    for old in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Participant(name, key["AccessKeyId"], key["SecretAccessKey"], boundary)
